import { describe, expect, it } from "vitest";
import type { LayerAudit } from "./ipc";
import { fakeOutcome, fakeReport } from "./ipc/mockBackend";
import {
  keepChoices,
  keepHoldText,
  keepSaving,
  keepSavingText,
  keptText,
  keepsLayers,
  sharedText,
  suggestedKeep,
  suggestedText,
} from "./keep";

/** Layers losing these bytes to later ones, in order, base first. */
function layers(...lost: number[]): LayerAudit[] {
  return lost.map((bytesLostLater, index) => ({ ...fakeReport().layers[0], index, createdBy: `RUN step ${index}`, bytesLostLater }));
}

describe("keepChoices", () => {
  it("offers each k that leaves a layer to squash, named by its last build step", () => {
    expect(keepChoices(fakeReport().layers, 4)).toEqual([
      { keep: 1, label: "1: ADD file:4f7bd01a2b in / · saves 1.03 GB" },
      { keep: 2, label: "1–2: RUN apt-get update && apt-get install -y build-essential py… · saves 28.0 MB" },
      { keep: 3, label: "1–3: COPY . /app · saves nothing" },
    ]);
  });

  it("cuts a long build step, and numbers alone without an audit", () => {
    const long = [{ ...layers(0)[0], createdBy: `RUN ${"x".repeat(100)}` }, ...layers(0, 0).slice(1)];
    expect(keepChoices(long, 2)[0].label).toBe(`1: RUN ${"x".repeat(55)}… · saves nothing`);
    expect(keepChoices(null, 3)).toEqual([
      { keep: 1, label: "1" },
      { keep: 2, label: "1–2" },
    ]);
    expect(keepChoices(null, 1)).toEqual([]);
  });
});

describe("suggestedKeep", () => {
  const byWaste = (...lost: number[]) => suggestedKeep({ layers: layers(...lost), baseLayers: null }).keep;

  it("is the base image's layers where the history says where it ends", () => {
    expect(suggestedKeep({ layers: layers(3, 0, 5, 0), baseLayers: 2 })).toEqual({ keep: 2, fromHistory: true });
    // A history that claims every layer (or none) leaves it to the waste.
    expect(suggestedKeep({ layers: layers(0, 0, 5), baseLayers: 3 })).toEqual({ keep: 2, fromHistory: false });
    expect(suggestedKeep({ layers: layers(0, 5), baseLayers: 0 })).toEqual({ keep: 1, fromHistory: false });
  });

  it("is otherwise the longest run of leading layers that lose nothing", () => {
    expect(byWaste(0, 0, 5, 0)).toBe(2);
    expect(byWaste(3, 0, 0)).toBe(0);
    expect(suggestedKeep(fakeReport()).keep).toBe(0);
  });

  it("never suggests every layer: one is left to squash", () => {
    expect(byWaste(0, 0, 0)).toBe(2);
    expect(byWaste(0)).toBe(0);
  });

  it("says why in plain words", () => {
    expect(suggestedText({ keep: 1, fromHistory: false })).toBe(
      "Suggested: the first layer wastes nothing, so squashing it gains nothing. Most likely that is the base image.",
    );
    expect(suggestedText({ keep: 2, fromHistory: false })).toContain("the first 2 layers waste nothing, so squashing them");
    expect(suggestedText({ keep: 3, fromHistory: true })).toBe(
      "Suggested: the first 3 layers are most likely the base image, whose build ends there with the command it runs (CMD or ENTRYPOINT). Kept, they stay shared with other images on that base.",
    );
  });
});

describe("the saving with layers kept", () => {
  it("sums what the layers from k on lose to later ones", () => {
    const report = fakeReport().layers;
    expect(keepSaving(report, 0)).toBe(1_030_000_000);
    expect(keepSaving(report, 1)).toBe(1_028_000_000);
    expect(keepSaving(report, 2)).toBe(28_000_000);
    expect(keepSaving(report, 3)).toBe(0);
  });

  it("says it with 'about', or that it shows once the image is read", () => {
    const report = fakeReport().layers;
    expect(keepSavingText(report, 2)).toBe("Squashing the other 2 layers would still save about 28.0 MB.");
    expect(keepSavingText(report, 3)).toBe("Nothing in the other layer is lost to a later one: squashing it would save nothing.");
    expect(keepSavingText(null, 2)).toBe("The saving shows once the image has been read.");
    expect(sharedText(1)).toContain("The first layer stays byte for byte, still shared with other images on the same base");
  });
});

describe("methods and the hold", () => {
  it("only Auto and Direct keep layers", () => {
    expect(keepsLayers("auto")).toBe(true);
    expect(keepsLayers("direct")).toBe(true);
    expect(keepsLayers("multiStage")).toBe(false);
    expect(keepsLayers("classic")).toBe(false);
    expect(keepsLayers("buildKit")).toBe(false);
  });

  it("holds Squash until a k is picked, and for a multi-stage method", () => {
    expect(keepHoldText(false, 0, "classic")).toBeNull();
    expect(keepHoldText(true, 0, "auto")).toBe("Pick how many layers to keep under Layers.");
    expect(keepHoldText(true, 2, "direct")).toBeNull();
    expect(keepHoldText(true, 2, "buildKit")).toContain("Only the direct method keeps layers");
  });

  it("says how many layers the result kept", () => {
    expect(keptText(fakeOutcome())).toBeNull();
    expect(keptText(fakeOutcome({ layersAfter: 3 }))).toBe("2 layers kept, 1 squashed on top");
  });
});
