import { describe, expect, it } from "vitest";
import { doneHeadline, expectedSaving, freeOriginalText, savedText } from "./guided";
import { fakeImages, fakeOutcome } from "./ipc/mockBackend";

const image = { ...fakeImages(1)[0], tags: ["web:1.2"] };

describe("expectedSaving", () => {
  it("quotes an audit's figure, a hint's step, or says the end will tell", () => {
    expect(expectedSaving({ ...image, saving: { kind: "measured", bytes: 1_030_000_000, layerBytes: 2_100_000_000 } })).toBe(
      "It should save 1.03 GB (49% of what its layers hold), as an audit measured.",
    );
    expect(expectedSaving({ ...image, saving: { kind: "measured", bytes: 0, layerBytes: 9 } })).toContain("An audit found nothing to save");
    expect(expectedSaving({ ...image, saving: { kind: "likely", step: 3, steps: 4, command: "RUN rm x", upTo: null } })).toContain(
      "Step 3 of its build deletes files",
    );
    expect(expectedSaving({ ...image, saving: { kind: "likely", step: 3, steps: 4, command: "RUN rm /x", upTo: 5_000_000 } })).toContain(
      "a squash drops them. Up to 5.00 MB, by its history; the exact figure shows at the end.",
    );
    expect(expectedSaving({ ...image, saving: { kind: "unknown" } })).toBe("How much it saves shows at the end.");
  });
});

describe("the end of the guided squash", () => {
  it("words the sizes, and the plain truth when nothing was saved", () => {
    expect(doneHeadline(image, fakeOutcome())).toBe("web:1.2 is now 1.07 GB instead of 2.10 GB");
    expect(savedText(fakeOutcome())).toBe("1.03 GB less (49%).");
    expect(savedText(fakeOutcome({ sizeAfter: 2_100_000_000 }))).toBe("It saved nothing: the layers held no file twice.");
  });

  it("says what removing the original frees, and what stays", () => {
    const id = "sha256:" + "5a".repeat(32);
    expect(freeOriginalText(id, 2_000_000_000)).toBe(
      "The original (5a5a5a5a5a5a) has no name now and nothing uses it. Removing it frees 2.00 GB; layers it shares with other images stay.",
    );
    expect(freeOriginalText(id, 0)).toContain("removing it frees nothing");
    expect(freeOriginalText(id, null)).toContain("frees the space only it takes");
  });
});
