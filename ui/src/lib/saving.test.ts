import { describe, expect, it } from "vitest";
import { savingCell } from "./saving";

describe("savingCell", () => {
  it("gives a measured figure with its share, and says so", () => {
    const cell = savingCell({ kind: "measured", bytes: 20_000_000, layerBytes: 22_000_000 });
    expect([cell.text, cell.detail, cell.kind]).toEqual(["20.0 MB", "91%", "measured"]);
    expect(cell.title).toBe("Measured by an audit: a squash saves 20.0 MB of the 22.0 MB its layers hold.");
  });

  it("says nothing was found rather than 0 B", () => {
    expect(savingCell({ kind: "measured", bytes: 0, layerBytes: 5 })).toMatchObject({ text: "nothing", kind: "none" });
  });

  it("marks a hint as one, with the step that deletes", () => {
    const cell = savingCell({ kind: "likely", step: 4, steps: 6, command: "RUN rm /tmp/big.zip", upTo: null });
    expect(cell.text).toBe("maybe");
    expect(cell.title).toContain("Not measured yet. Step 4 of 6 deletes files (RUN rm /tmp/big.zip)");
    expect(cell.title).toContain("Audit to measure.");
  });

  it("gives the hint's figure as an upper bound when the history has one", () => {
    const cell = savingCell({ kind: "likely", step: 4, steps: 6, command: "RUN rm /tmp/big.zip", upTo: 20_000_000 });
    expect(cell.text).toBe("up to 20.0 MB");
    expect(cell.kind).toBe("likely");
    expect(cell.title).toContain("The earlier steps that wrote what it deletes made 20.0 MB of layers. Audit to measure.");
  });

  it("shows a dash when nothing is known", () => {
    expect(savingCell({ kind: "unknown" })).toMatchObject({ text: "—", kind: "unknown" });
  });
});
