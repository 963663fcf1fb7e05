/**
 * How a squash reads on screen: which settings the user changed, the method and the progress in
 * plain words, the outcome's sizes and differences. Pure functions, tested directly, so the
 * squash components only lay things out. Whether a plan is valid is never decided here: that is
 * Rust's `render_squash`, the one check of a plan; which method Auto picks is Rust's preflight.
 *
 *     editedFields(original, plan);   // Set {"env", "user"}
 *     methodName("direct");           // "the direct method"
 *     stageText(progress);            // "Building — step 2 of 3"
 *     sizeText(outcome);              // "2.10 GB → 1.07 GB, 49% smaller"
 */
import { formatBytes, formatSeconds, formatShare, plural, shortId } from "./format";
import type {
  DifferenceKind,
  Healthcheck,
  ImageSummary,
  KeyValue,
  Method,
  MethodChoice,
  PlanField,
  Progress,
  PruneCandidate,
  SquashOutcome,
  SquashPlan,
} from "./ipc";

/** The stage name of "Copy as a stage for my Dockerfile". */
export const STAGE_NAME = "squashed";

/** An edit waits this long for the next keystroke before Rust renders (and checks) the plan. */
export const RENDER_DEBOUNCE_MS = 150;

/** What the plan is made for: the image's first tag, or its full ID when it has none. */
export function sourceName(image: ImageSummary): string {
  return image.tags[0] ?? image.id;
}

/** The fields of the plan that are the image's settings, as opposed to where the result goes. */
export type Setting = Exclude<keyof SquashPlan, "sourceId" | "sourceName" | "tag">;

const SETTINGS: readonly Setting[] = [
  "env",
  "user",
  "workingDir",
  "cmd",
  "entrypoint",
  "exposedPorts",
  "labels",
  "volumes",
  "stopSignal",
  "healthcheck",
  "shell",
  "onBuild",
];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The settings that differ from the image's own. */
export function editedFields(original: SquashPlan, plan: SquashPlan): Set<Setting> {
  return new Set(SETTINGS.filter((field) => !same(original[field], plan[field])));
}

const SETTING_NAMES: Record<Setting, string> = {
  env: "environment",
  user: "user",
  workingDir: "working folder",
  cmd: "command",
  entrypoint: "entrypoint",
  exposedPorts: "ports",
  labels: "labels",
  volumes: "volumes",
  stopSignal: "stop signal",
  healthcheck: "health check",
  shell: "shell",
  onBuild: "ONBUILD steps",
};

/** A setting as the person knows it: `"working folder"`, `"tag"`. */
export function settingName(setting: PlanField): string {
  return setting === "tag" ? "tag" : SETTING_NAMES[setting];
}

/** The keys whose value differs between two lists, added and removed ones included, A→Z. */
function changedKeys(before: readonly KeyValue[], after: readonly KeyValue[]): string[] {
  const value = (rows: readonly KeyValue[]) => new Map(rows.map((kv) => [kv.key, kv.value]));
  const [a, b] = [value(before), value(after)];
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((key) => a.get(key) !== b.get(key)).sort();
}

/**
 * What the person changed, in words, for the result's "settings as you set them":
 * environment variables and labels by name (`APP_HOME`), the rest by what they are (`user`).
 */
export function changeNames(original: SquashPlan, plan: SquashPlan): string[] {
  return [...editedFields(original, plan)].flatMap((field) => {
    if (field === "env") return changedKeys(original.env, plan.env);
    if (field === "labels") return changedKeys(original.labels, plan.labels).map((key) => `label ${key}`);
    return [SETTING_NAMES[field]];
  });
}

/**
 * The verified result in words: `"same files, same settings"`, or with the person's edits
 * named: `"same files; settings as you set them (1 change: APP_HOME)"`.
 */
export function verifiedText(changes: readonly string[]): string {
  if (changes.length === 0) return "same files, same settings";
  const shown = changes.slice(0, 4).join(", ") + (changes.length > 4 ? ", …" : "");
  return `same files; settings as you set them (${plural(changes.length, "change", "changes")}: ${shown})`;
}

/** `plan` with every setting back to the image's own; the target tag stays as chosen. */
export function withImageSettings(plan: SquashPlan, original: SquashPlan): SquashPlan {
  const copy = structuredClone(original);
  return { ...copy, tag: plan.tag };
}

/** Per row: whether it is new or changed, i.e. the image has no row with that key and value. */
export function editedRows(original: readonly KeyValue[], rows: readonly KeyValue[]): boolean[] {
  const before = new Set(original.map((kv) => JSON.stringify([kv.key, kv.value])));
  return rows.map((kv) => !before.has(JSON.stringify([kv.key, kv.value])));
}

/** How many of the image's keys are gone from the rows. */
export function removedKeys(original: readonly KeyValue[], rows: readonly KeyValue[]): number {
  const now = new Set(rows.map((kv) => kv.key));
  return original.filter((kv) => !now.has(kv.key)).length;
}

/**
 * The job's stage in plain words: `"Building — step 2 of 3"`, `"Verifying — reading the
 * original image 1.20 GB of about 2.10 GB"`. A read's total is the daemon's size of the image,
 * which the archive only roughly matches, hence "about" (as the audit says it).
 */
export function stageText(progress: Progress | null): string {
  if (progress === null) return "Starting…";
  const read = () => {
    const done = formatBytes(progress.done);
    return progress.total === null ? done : `${done} of about ${formatBytes(progress.total)}`;
  };
  switch (progress.stage) {
    case "reading source":
      return `Reading the image ${read()}`;
    case "squashing":
      return `Writing the squashed layer and loading it into Docker — read ${read()}`;
    case "building":
      // BuildKit reports no steps, only that it is working.
      if (progress.total === null) return "Building…";
      return `Building — step ${Math.min(progress.done, progress.total)} of ${progress.total}`;
    case "verifying source":
      return `Verifying — reading the original image ${read()}`;
    case "verifying result":
      return `Verifying — reading the squashed image ${read()}`;
    case "finishing step":
      // The classic builder finishes the step it is on even when told to stop.
      return "Cancelling — waiting for Docker to finish the step it is on, then removing it";
    case "tagging":
      return "Verified — giving the squashed image its name";
    default:
      return `${progress.stage.charAt(0).toUpperCase()}${progress.stage.slice(1)}…`;
  }
}

/**
 * The stage and the time the squash has taken so far: `"Building — step 2 of 3 · 14 s so far"`.
 * A build step (a large copy) can run for minutes with nothing else to tell; the time shows it
 * has not stalled.
 */
export function progressLine(progress: Progress | null, startedAt: number | null, now: number): string {
  if (startedAt === null) return stageText(progress);
  return `${stageText(progress)} · ${formatSeconds(Math.max(0, Math.floor((now - startedAt) / 1000)))} so far`;
}

const METHOD_NAMES: Record<Method, string> = {
  direct: "the direct method",
  classic: "the classic builder",
  buildKit: "BuildKit",
};

/** What makes the image, as a sentence names it: `"the direct method"`, `"BuildKit"`. */
export function methodName(method: Method): string {
  return METHOD_NAMES[method];
}

/**
 * The words before the method the core picked, for the choices that leave it the pick; null
 * for a method the user named (its reason is only "chosen").
 */
export function pickLead(choice: MethodChoice): string | null {
  if (choice === "auto") return "Auto picks";
  if (choice === "multiStage") return "The Dockerfile will be built by";
  return null;
}

/** Rust's reason for a pick as a sentence of its own: `"BuildKit: the image has … to copy from."` */
export function reasonSentence(reason: string): string {
  const text = reason.trim();
  if (text === "") return text;
  const capital = `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * What a taken target tag means: `"web:1.2-squashed already names image abc123def456. That
 * image stays, by ID: only the name moves."`
 */
export function tagTakenText(tag: string, takenBy: string, sourceId: string): string {
  if (takenBy === sourceId) return `${tag} names this image itself: the tag moves to the squashed image, and this image stays, by ID.`;
  return `${tag} already names image ${shortId(takenBy)}. Squashing moves the tag to the squashed image; that image stays, by ID.`;
}

/** Nanoseconds (as Docker stores health-check durations) in the largest exact unit: `"30s"`. */
export function durationText(ns: number): string {
  const units: [string, number][] = [
    ["h", 3_600_000_000_000],
    ["m", 60_000_000_000],
    ["s", 1_000_000_000],
    ["ms", 1_000_000],
    ["µs", 1_000],
  ];
  const unit = units.find(([, size]) => ns % size === 0);
  return unit === undefined ? `${ns}ns` : `${ns / unit[1]}${unit[0]}`;
}

/** The health check's command as a person reads it. */
export function healthcheckCommand(check: Healthcheck): string {
  const [kind, ...rest] = check.test;
  if (kind === "NONE") return "Disabled (NONE)";
  if (kind === "CMD-SHELL") return rest.join(" ");
  return JSON.stringify(rest);
}

/** `"every 30s, timeout 5s, 3 retries"`: the options that are set, or null when none is. */
export function healthcheckOptions(check: Healthcheck): string | null {
  const parts: string[] = [];
  if (check.interval !== 0) parts.push(`every ${durationText(check.interval)}`);
  if (check.timeout !== 0) parts.push(`timeout ${durationText(check.timeout)}`);
  if (check.startPeriod !== 0) parts.push(`start period ${durationText(check.startPeriod)}`);
  if (check.startInterval !== 0) parts.push(`start interval ${durationText(check.startInterval)}`);
  if (check.retries !== 0) parts.push(plural(check.retries, "retry", "retries"));
  return parts.length === 0 ? null : parts.join(", ");
}

/** `"2.10 GB → 1.07 GB, 49% smaller"` */
export function sizeText(outcome: SquashOutcome): string {
  const { sizeBefore: before, sizeAfter: after } = outcome;
  const sizes = `${formatBytes(before)} → ${formatBytes(after)}`;
  if (after < before) return `${sizes}, ${formatShare(before - after, before)} smaller`;
  if (after === before) return `${sizes}, the same size`;
  return `${sizes}, ${formatBytes(after - before)} larger`;
}

/**
 * The tooltip of the outcome's sizes: what they count, and Docker's own figures where they
 * differ (see `sizeTitle`).
 */
export function outcomeSizeTitle(outcome: SquashOutcome): string {
  const what = "The images' files, unpacked";
  const { engineSizeBefore: before, engineSizeAfter: after } = outcome;
  if (before === outcome.sizeBefore && after === outcome.sizeAfter) return what;
  return `${what}.\nDocker's own figures, ${formatBytes(before)} → ${formatBytes(after)}, also count the compressed layers.`;
}

/** `"made by the direct method in 3.1 s · verified in 0.4 s"` */
export function madeText(outcome: SquashOutcome): string {
  const made = `made by ${methodName(outcome.method)} in ${formatSeconds(outcome.buildSeconds)}`;
  return `${made} · verified in ${formatSeconds(outcome.verifySeconds)}`;
}

/** `"4 layers → 1 layer"` */
export function layersText(outcome: SquashOutcome): string {
  return `${plural(outcome.layersBefore, "layer", "layers")} → ${plural(outcome.layersAfter, "layer", "layers")}`;
}

const DIFFERENCES: Record<DifferenceKind, string> = {
  missing: "missing from the squashed image",
  extra: "only in the squashed image",
  type: "a different kind of file",
  mode: "different permissions",
  owner: "a different owner",
  size: "a different size",
  content: "different content",
  linkTarget: "a link pointing elsewhere",
  capability: "different capabilities",
  acl: "a different access control list",
  xattr: "a different extended attribute",
  hardLinks: "different hard links",
  device: "a different device number",
  mtime: "a different modification time",
};

/** A filesystem difference's kind in words: `"different permissions"`. */
export function differenceText(kind: DifferenceKind): string {
  return DIFFERENCES[kind];
}

/**
 * The card's question about what the squash left without a name: `"This squash left 1 image
 * without a name (abc123def456, 12.3 MB). Remove it?"`. Sizes come from the prune preview
 * (`candidates`); an image it does not list is named without one.
 */
export function leftBehindText(ids: readonly string[], candidates: readonly PruneCandidate[]): string {
  const named = ids.map((id) => {
    const found = candidates.find((c) => c.id === id);
    return found === undefined ? shortId(id) : `${shortId(id)}, ${formatBytes(found.uniqueSize)}`;
  });
  const it = ids.length === 1 ? "it" : "them";
  return `This squash left ${plural(ids.length, "image", "images")} without a name (${named.join("; ")}). Remove ${it}?`;
}

/**
 * The squashed image as the list shows it, for its audit: the list's own row once a refresh has
 * it, else one made from the outcome.
 */
export function resultImage(outcome: SquashOutcome, list: readonly ImageSummary[], nowSeconds: number): ImageSummary {
  const listed = list.find((i) => i.id === outcome.resultId);
  if (listed !== undefined) return listed;
  return {
    id: outcome.resultId,
    shortId: shortId(outcome.resultId),
    tags: outcome.movedTag === null ? [outcome.tag] : [outcome.tag, outcome.movedTag],
    dangling: false,
    inUse: false,
    created: nowSeconds,
    size: outcome.sizeAfter,
    engineSize: outcome.engineSizeAfter,
    layers: outcome.layersAfter,
    // Not measured yet: the list's own row says once a refresh brings it.
    saving: { kind: "unknown" },
  };
}
