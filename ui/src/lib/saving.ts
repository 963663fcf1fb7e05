/**
 * How the list words what a squash would save: a measured figure, a hint marked as one, or
 * nothing known yet. Pure, so the wording is tested once and the table only places it.
 */
import { formatBytes, formatShare } from "./format";
import type { Saving } from "./ipc";

export interface SavingCell {
  /** What the cell says: "20.0 MB", "up to 20.0 MB", "maybe", "nothing", "—". */
  text: string;
  /** A quieter figure beside it (the share of the layers), or null. */
  detail: string | null;
  /** The sentence behind it, for the tooltip and screen readers. */
  title: string;
  kind: Saving["kind"] | "none";
}

export function savingCell(saving: Saving): SavingCell {
  switch (saving.kind) {
    case "measured":
      if (saving.bytes === 0) {
        return { text: "nothing", detail: null, title: "An audit found nothing a squash would save.", kind: "none" };
      }
      return {
        text: formatBytes(saving.bytes),
        detail: formatShare(saving.bytes, saving.layerBytes),
        title: `Measured by an audit: a squash saves ${formatBytes(saving.bytes)} of the ${formatBytes(saving.layerBytes)} its layers hold.`,
        kind: "measured",
      };
    case "likely":
      return {
        text: saving.upTo === null ? "maybe" : `up to ${formatBytes(saving.upTo)}`,
        detail: null,
        title:
          `Not measured yet. Step ${saving.step} of ${saving.steps} deletes files (${saving.command}); ` +
          "files deleted in a later step still take space in the image. " +
          (saving.upTo === null ? "" : `The earlier steps that wrote what it deletes made ${formatBytes(saving.upTo)} of layers. `) +
          "Audit to measure.",
        kind: "likely",
      };
    case "unknown":
      return { text: "—", detail: null, title: "Not measured yet: an audit reads the image and says.", kind: "unknown" };
  }
}
