/**
 * A partial squash in plain words: which leading layers can be kept, which the audit suggests,
 * what the squash would still save, and why Squash waits. Pure functions, tested directly, so
 * the Layers card only lays things out. The core keeps the layers and refuses a method that
 * cannot; this only says so before Squash is pressed.
 *
 *     keepChoices(report.layers, 4);      // [{ keep: 1, label: "1: ADD file:… in / · saves 1.03 GB" }, …]
 *     suggestedKeep(report);              // { keep: 1, fromHistory: true }: the base image
 *     keepSavingText(report.layers, 1);   // "Squashing the other 3 would still save about 1.03 GB."
 */
import { cleanCommand } from "./audit";
import { formatBytes, plural } from "./format";
import type { AuditReport, LayerAudit, MethodChoice, SquashOutcome } from "./ipc";

/** A build step longer than this is cut, so the list stays one line per choice. */
const STEP_CHARS = 60;

/** Auto and Direct squash by the direct method, the only one that can keep layers. */
export function keepsLayers(choice: MethodChoice): boolean {
  return choice === "auto" || choice === "direct";
}

export interface KeepChoice {
  /** How many leading layers stay. */
  keep: number;
  /** `"1–3: RUN apt-get update · saves 28.0 MB"`: the layers kept, the last one's build step,
   * and what the squash of the others would still save. */
  label: string;
}

function shortStep(createdBy: string | null): string {
  const step = cleanCommand(createdBy);
  return step.length > STEP_CHARS ? `${step.slice(0, STEP_CHARS - 1)}…` : step;
}

/**
 * Each k that leaves a layer to squash, 1 to `count` − 1. The audit's layers, when there is one,
 * name each k's last build step and what that choice still saves; without it only the numbers
 * are known.
 */
export function keepChoices(layers: readonly LayerAudit[] | null, count: number): KeepChoice[] {
  const total = layers?.length ?? count;
  return Array.from({ length: Math.max(0, total - 1) }, (_, i) => {
    const keep = i + 1;
    const range = keep === 1 ? "1" : `1–${keep}`;
    if (layers === null) return { keep, label: range };
    const step = shortStep(layers[i].createdBy);
    const saving = keepSaving(layers, keep);
    const saves = saving === 0 ? " · saves nothing" : ` · saves ${formatBytes(saving)}`;
    return { keep, label: (step === "" ? range : `${range}: ${step}`) + saves };
  });
}

export interface Suggestion {
  /** How many leading layers to keep; 0 for no suggestion. */
  keep: number;
  /** The history says the base image ends there; otherwise the layers waste nothing. */
  fromHistory: boolean;
}

/**
 * The base image's layers when the history says where it ends (the audit's `baseLayers`): kept,
 * they stay shared with every image on that base. Otherwise the longest run of leading layers
 * that lose no bytes to later ones: squashing them gains nothing, and they are most likely the
 * base. Never every layer, which would leave nothing to squash.
 */
export function suggestedKeep(report: Pick<AuditReport, "layers" | "baseLayers">): Suggestion {
  const { layers, baseLayers } = report;
  if (baseLayers !== null && baseLayers > 0 && baseLayers < layers.length) return { keep: baseLayers, fromHistory: true };
  const wasting = layers.findIndex((layer) => layer.bytesLostLater > 0);
  const run = wasting === -1 ? layers.length : wasting;
  return { keep: Math.max(0, Math.min(run, layers.length - 1)), fromHistory: false };
}

/** Why the suggestion is one: `"Suggested: the first 2 layers are the base image, …"`. */
export function suggestedText({ keep, fromHistory }: Suggestion): string {
  const one = keep === 1;
  if (fromHistory) {
    const first = one ? "the first layer is" : `the first ${keep} layers are`;
    return `Suggested: ${first} most likely the base image, whose build ends there with the command it runs (CMD or ENTRYPOINT). Kept, ${one ? "it stays" : "they stay"} shared with other images on that base.`;
  }
  const first = one ? "the first layer wastes nothing, so squashing it" : `the first ${keep} layers waste nothing, so squashing them`;
  return `Suggested: ${first} gains nothing. Most likely that is the base image.`;
}

/** What keeping the first `keep` layers means for them and for the layer on top. */
export function sharedText(keep: number): string {
  const first = keep === 1 ? "The first layer stays" : `The first ${keep} layers stay`;
  return `${first} byte for byte, still shared with other images on the same base; one layer on top holds what the others changed.`;
}

/** Bytes the squash still reclaims with the first `keep` layers kept: what the others lose. */
export function keepSaving(layers: readonly LayerAudit[], keep: number): number {
  return layers.filter((layer) => layer.index >= keep).reduce((sum, layer) => sum + layer.bytesLostLater, 0);
}

/** The saving for `keep` as a sentence, or what stands in for it until the image is read. */
export function keepSavingText(layers: readonly LayerAudit[] | null, keep: number): string {
  if (layers === null) return "The saving shows once the image has been read.";
  const saving = keepSaving(layers, keep);
  const one = layers.length - keep === 1;
  const rest = one ? "the other layer" : `the other ${layers.length - keep} layers`;
  if (saving === 0) return `Nothing in ${rest} is lost to a later one: squashing ${one ? "it" : "them"} would save nothing.`;
  return `Squashing ${rest} would still save about ${formatBytes(saving)}.`;
}

/**
 * Why Squash waits on the Layers card, or null when it need not: no k picked yet, or a method
 * that makes one layer of everything.
 */
export function keepHoldText(keeping: boolean, keep: number, choice: MethodChoice): string | null {
  if (!keeping) return null;
  if (keep === 0) return "Pick how many layers to keep under Layers.";
  if (!keepsLayers(choice)) {
    return "Only the direct method keeps layers: a multi-stage Dockerfile makes one layer of everything. Choose Auto or Direct, or squash every layer.";
  }
  return null;
}

/** `"3 layers kept, 1 squashed on top"` for a partial squash; null for a full one. */
export function keptText(outcome: SquashOutcome): string | null {
  const kept = outcome.layersAfter - 1;
  return kept > 0 ? `${plural(kept, "layer", "layers")} kept, 1 squashed on top` : null;
}
