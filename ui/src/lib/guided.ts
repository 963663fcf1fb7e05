/**
 * The words of "Make it smaller", the guided squash for someone who was told to make an image
 * smaller and wants nothing else to know. Pure, so each sentence is tested once.
 */
import { formatBytes, formatShare, shortId } from "./format";
import type { ImageSummary, SquashOutcome } from "./ipc";
import { sourceName } from "./squash";

/** What the intro says it could save: the audit's figure, or why it cannot say yet. */
export function expectedSaving(image: ImageSummary): string {
  switch (image.saving.kind) {
    case "measured":
      return image.saving.bytes === 0
        ? "An audit found nothing to save: the layers hold no file twice. A squash would only make one layer of them."
        : `It should save ${formatBytes(image.saving.bytes)} (${formatShare(image.saving.bytes, image.saving.layerBytes)} of what its layers hold), as an audit measured.`;
    case "likely": {
      const { step, upTo } = image.saving;
      const deletes = `Step ${step} of its build deletes files, which still take space in the layers before it: a squash drops them.`;
      if (upTo === null) return `${deletes} How much it saves shows at the end.`;
      return `${deletes} Up to ${formatBytes(upTo)}, by its history; the exact figure shows at the end.`;
    }
    case "unknown":
      return "How much it saves shows at the end.";
  }
}

/** The headline once it worked: `"web:1.2 is now 1.07 GB instead of 2.10 GB"`. */
export function doneHeadline(image: ImageSummary, outcome: SquashOutcome): string {
  return `${sourceName(image)} is now ${formatBytes(outcome.sizeAfter)} instead of ${formatBytes(outcome.sizeBefore)}`;
}

/** `"1.03 GB less (49%)"`, or the plain truth when the squash saved nothing. */
export function savedText(outcome: SquashOutcome): string {
  const { sizeBefore: before, sizeAfter: after } = outcome;
  if (after >= before) return "It saved nothing: the layers held no file twice.";
  return `${formatBytes(before - after)} less (${formatShare(before - after, before)}).`;
}

/** The offer to free the original's space, with what stays: `bytes` is what removing it frees. */
export function freeOriginalText(sourceId: string, bytes: number | null): string {
  const what = `The original (${shortId(sourceId)}) has no name now and nothing uses it.`;
  if (bytes === null) return `${what} Removing it frees the space only it takes; layers it shares with other images stay.`;
  if (bytes === 0) return `${what} It shares all its layers with other images, so removing it frees nothing.`;
  return `${what} Removing it frees ${formatBytes(bytes)}; layers it shares with other images stay.`;
}
