/**
 * How numbers, times and daemon facts read on screen. Pure functions, so they are tested
 * directly and every component words things the same way.
 */
import type { Outcome, Route, Source } from "./ipc";

// Decimal units, as `docker images` prints them (go-units HumanSize).
const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** `12300000` → `"12.3 MB"`: three significant digits, decimal units like Docker. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  let unit = Math.min(Math.floor(Math.log10(bytes) / 3), BYTE_UNITS.length - 1);
  let value = bytes / 1000 ** unit;
  // 999_950 bytes rounds to "1000 kB"; say "1.00 MB" instead.
  if (Number(value.toPrecision(3)) >= 1000 && unit < BYTE_UNITS.length - 1) {
    unit += 1;
    value = bytes / 1000 ** unit;
  }
  return `${value.toPrecision(3)} ${BYTE_UNITS[unit]}`;
}

/**
 * The tooltip of an image's size: what the figure counts, and Docker's own figure where it
 * differs (on the containerd image store it also counts the compressed layers).
 */
export function sizeTitle(files: number, engine: number): string {
  const what = "What the image's files take unpacked, layers shared with other images included";
  if (engine === files) return what;
  return `${what}.\nDocker's own figure, ${formatBytes(engine)}, also counts the compressed layers the files were unpacked from.`;
}

/** A job's wall time: `"2.4 s"`, `"38 s"`, `"3 min 05 s"`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 9.95) return `${seconds.toFixed(1)} s`;
  if (seconds < 59.5) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
}

function ago(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
}

/**
 * Whether a creation time was recorded. Images made without one (a `docker import` of some tools,
 * reproducible builds) carry `0` or Go's zero time, year 1 (`-62135596800`): neither is a date.
 */
function isKnownTime(unixSeconds: number): boolean {
  return Number.isFinite(unixSeconds) && unixSeconds > 0;
}

/**
 * `"3 minutes ago"`, `"2 days ago"`, `"unknown"` when no time was recorded. Thresholds follow
 * Docker's HumanDuration so the app and the CLI agree about the same image. A time in the future
 * (clock skew) is "just now".
 */
export function relativeTime(unixSeconds: number, nowMs: number): string {
  if (!isKnownTime(unixSeconds)) return "unknown";
  const seconds = Math.floor(nowMs / 1000 - unixSeconds);
  if (seconds < 1) return "just now";
  if (seconds < 60) return ago(seconds, "second");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return ago(minutes, "minute");
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return ago(hours, "hour");
  const days = Math.floor(hours / 24);
  if (days < 14) return ago(days, "day");
  if (days < 90) return ago(Math.floor(days / 7), "week");
  if (days < 365 * 2) return ago(Math.floor(days / 30), "month");
  return ago(Math.floor(days / 365), "year");
}

// Made once: building a formatter per row would dominate rendering a long list.
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** The full local date and time, for tooltips. */
export function formatDate(unixSeconds: number): string {
  if (!isKnownTime(unixSeconds)) return "No creation date was recorded for this image";
  return dateFormat.format(new Date(unixSeconds * 1000));
}

/** `"sha256:0123456789abcdef…"` → `"0123456789ab"`, as `docker images` shows an ID. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

/**
 * `"localhost:5000/app:1.2"` → `["localhost:5000/app", "1.2"]`: the tag is after the last
 * colon that follows the last slash, so a registry port is not mistaken for it.
 */
export function splitTag(name: string): [repo: string, tag: string] {
  const colon = name.lastIndexOf(":");
  if (colon <= name.lastIndexOf("/")) return [name, ""];
  return [name.slice(0, colon), name.slice(colon + 1)];
}

/** Why an endpoint was tried, in the words a person knows it by. */
export function sourceLabel(source: Source): string {
  switch (source.kind) {
    case "setting":
      return "Saved address";
    case "dockerHost":
      return "DOCKER_HOST";
    case "context":
      return `Docker context "${source.name}"`;
    case "wellKnown":
      return source.name;
  }
}

/** The connection bar's "via …": which way of finding the daemon won. */
export function viaLabel(source: Source): string {
  return source.kind === "setting" ? "via your saved address" : `via ${sourceLabel(source)}`;
}

/** How the daemon is reached, as the connection bar says it. */
export function routeText(route: Route): string {
  switch (route.kind) {
    case "socket":
      return "local socket";
    case "namedPipe":
      return "local named pipe";
    case "tcp":
      return `TCP to ${route.address}, unencrypted`;
    case "tls":
      return `TLS to ${route.address}${route.verified ? "" : ", certificate not verified"}`;
    case "ssh":
      return `ssh to ${route.destination}`;
    case "unknown":
      return "unknown route";
  }
}

/** What an endpoint answered, as a short phrase. */
export function outcomeText(outcome: Outcome): string {
  switch (outcome.kind) {
    case "answered":
      return `answered (${outcome.product} ${outcome.engine}, API ${outcome.api})`;
    case "noSocket":
      return "no socket there";
    case "failed":
      return `failed: ${outcome.reason}`;
    case "skipped":
      return "not tried";
  }
}

/** `"1 image"`, `"3 images"`: the count with the noun that agrees with it. */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `"3 images"`, or `"3 of 12 images"` while a filter hides some. */
export function countLabel(shown: number, total: number): string {
  const noun = total === 1 ? "image" : "images";
  return shown === total ? `${total} ${noun}` : `${shown} of ${total} ${noun}`;
}

/** `part` of `whole` as a whole percentage: `"49%"`; never "0%" or "100%" when it isn't. */
export function formatShare(part: number, whole: number): string {
  if (!(whole > 0) || !(part > 0)) return "0%";
  const percent = (part / whole) * 100;
  if (percent < 1) return "<1%";
  if (part < whole) return `${Math.min(99, Math.round(percent))}%`;
  return `${Math.round(percent)}%`;
}
