import { describe, expect, it } from "vitest";
import { fakeCandidates, fakeImages, fakeOutcome, fakePlan } from "./ipc/mockBackend";
import {
  differenceText,
  durationText,
  editedFields,
  editedRows,
  healthcheckCommand,
  healthcheckOptions,
  layersText,
  leftBehindText,
  madeText,
  methodName,
  pickLead,
  reasonSentence,
  outcomeSizeTitle,
  removedKeys,
  resultImage,
  sizeText,
  sourceName,
  stageText,
  progressLine,
  tagTakenText,
  withImageSettings,
  changeNames,
  verifiedText,
} from "./squash";

describe("sourceName", () => {
  it("is the first tag, or the full ID of an untagged image", () => {
    const [tagged, , , , , untagged] = fakeImages(6);
    expect(sourceName(tagged)).toBe("alpine:0");
    expect(untagged.tags).toEqual([]);
    expect(sourceName(untagged)).toBe(untagged.id);
  });
});

describe("editedFields", () => {
  it("is empty for the image's own plan, whatever the tag", () => {
    expect(editedFields(fakePlan(), fakePlan({ tag: "web:other" })).size).toBe(0);
  });

  it("names each changed setting, telling unset from set-to-empty", () => {
    const original = fakePlan();
    const plan = fakePlan({ user: "root", cmd: [], env: [...original.env, { key: "A", value: "1" }] });
    expect([...editedFields(original, plan)].sort()).toEqual(["cmd", "env", "user"]);
    expect([...editedFields(fakePlan({ entrypoint: null }), fakePlan({ entrypoint: [] }))]).toEqual(["entrypoint"]);
    expect([...editedFields(original, fakePlan({ healthcheck: null }))]).toEqual(["healthcheck"]);
  });
});

describe("withImageSettings", () => {
  it("takes every setting back and keeps the chosen tag, sharing nothing with the original", () => {
    const original = fakePlan();
    const edited = fakePlan({ tag: "web:slim", user: "root", env: [] });
    const reset = withImageSettings(edited, original);
    expect(reset).toEqual({ ...original, tag: "web:slim" });
    reset.env.push({ key: "X", value: "1" });
    expect(original.env).toHaveLength(2);
  });
});

describe("editedRows and removedKeys", () => {
  const original = [
    { key: "A", value: "1" },
    { key: "B", value: '$HOME "x"' },
  ];

  it("marks new and changed rows, and only those", () => {
    const rows = [
      { key: "A", value: "1" },
      { key: "B", value: "$HOME 'x'" },
      { key: "C", value: "" },
    ];
    expect(editedRows(original, rows)).toEqual([false, true, true]);
    expect(editedRows(original, original)).toEqual([false, false]);
  });

  it("counts the image's keys that went", () => {
    expect(removedKeys(original, [{ key: "B", value: "changed" }])).toBe(1);
    expect(removedKeys(original, original)).toBe(0);
  });
});

describe("progressLine", () => {
  it("adds the time so far to the stage, in whole seconds", () => {
    const building = { stage: "building", done: 2, total: 5 };
    expect(progressLine(building, 1_000, 15_900)).toBe("Building — step 2 of 5 · 14 s so far");
    expect(progressLine(building, 1_000, 1_000 + 125_000)).toBe("Building — step 2 of 5 · 2 min 05 s so far");
    expect(progressLine(null, null, 5_000)).toBe("Starting…");
  });
});

describe("stageText", () => {
  it("says each stage in plain words", () => {
    expect(stageText(null)).toBe("Starting…");
    expect(stageText({ stage: "building", done: 2, total: 3 })).toBe("Building — step 2 of 3");
    expect(stageText({ stage: "building", done: 17, total: null })).toBe("Building…");
    expect(stageText({ stage: "verifying source", done: 1_200_000_000, total: 2_100_000_000 })).toBe(
      "Verifying — reading the original image 1.20 GB of about 2.10 GB",
    );
    expect(stageText({ stage: "verifying result", done: 5_000, total: null })).toBe("Verifying — reading the squashed image 5.00 kB");
    expect(stageText({ stage: "tagging", done: 0, total: null })).toBe("Verified — giving the squashed image its name");
    expect(stageText({ stage: "finishing step", done: 0, total: null })).toContain("waiting for Docker to finish the step");
    expect(stageText({ stage: "pruning", done: 0, total: null })).toBe("Pruning…");
  });

  it("says the direct method's stages, with the bytes of the source read", () => {
    expect(stageText({ stage: "reading source", done: 700_000_000, total: 2_100_000_000 })).toBe(
      "Reading the image 700 MB of about 2.10 GB",
    );
    expect(stageText({ stage: "squashing", done: 1_200_000_000, total: 2_100_000_000 })).toBe(
      "Writing the squashed layer and loading it into Docker — read 1.20 GB of about 2.10 GB",
    );
    expect(stageText({ stage: "squashing", done: 5_000, total: null })).toBe(
      "Writing the squashed layer and loading it into Docker — read 5.00 kB",
    );
  });
});

describe("methods", () => {
  it("names what makes the image as a sentence says it", () => {
    expect(methodName("direct")).toBe("the direct method");
    expect(methodName("classic")).toBe("the classic builder");
    expect(methodName("buildKit")).toBe("BuildKit");
  });

  it("leads into a pick only where the core picks", () => {
    expect(pickLead("auto")).toBe("Auto picks");
    expect(pickLead("multiStage")).toBe("The Dockerfile will be built by");
    expect(pickLead("direct")).toBeNull();
    expect(pickLead("classic")).toBeNull();
    expect(pickLead("buildKit")).toBeNull();
  });

  it("makes Rust's reason a sentence", () => {
    expect(reasonSentence("the classic builder: the image was not read yet")).toBe("The classic builder: the image was not read yet.");
    expect(reasonSentence("Already one.")).toBe("Already one.");
  });
});

describe("tagTakenText", () => {
  it("names the image the tag moves off, and says it stays", () => {
    const other = "sha256:" + "ab".repeat(32);
    expect(tagTakenText("web:1.2-squashed", other, fakePlan().sourceId)).toBe(
      "web:1.2-squashed already names image abababababab. Squashing moves the tag to the squashed image; that image stays, by ID.",
    );
    expect(tagTakenText("web:1.2", fakePlan().sourceId, fakePlan().sourceId)).toContain("names this image itself");
  });
});

describe("health checks", () => {
  it("shows durations in their largest exact unit", () => {
    expect(durationText(30_000_000_000)).toBe("30s");
    expect(durationText(90_000_000_000)).toBe("90s");
    expect(durationText(120_000_000_000)).toBe("2m");
    expect(durationText(1_500_000)).toBe("1500µs");
    expect(durationText(1_500_001)).toBe("1500001ns");
    expect(durationText(250_000_000)).toBe("250ms");
  });

  it("reads the command and the options that are set", () => {
    const check = fakePlan().healthcheck!;
    expect(healthcheckCommand(check)).toBe("wget -q -O- localhost:8080/health");
    expect(healthcheckOptions(check)).toBe("every 30s, 3 retries");
    expect(healthcheckCommand({ ...check, test: ["CMD", "/bin/true", "a b"] })).toBe('["/bin/true","a b"]');
    expect(healthcheckCommand({ ...check, test: ["NONE"] })).toBe("Disabled (NONE)");
    expect(healthcheckOptions({ ...check, interval: 0, retries: 1, timeout: 5_000_000_000 })).toBe("timeout 5s, 1 retry");
    expect(healthcheckOptions({ ...check, interval: 0, retries: 0 })).toBeNull();
  });
});

describe("the outcome", () => {
  it("says how much smaller, with the layer counts", () => {
    expect(sizeText(fakeOutcome())).toBe("2.10 GB → 1.07 GB, 49% smaller");
    expect(sizeText(fakeOutcome({ sizeAfter: 2_100_000_000 }))).toBe("2.10 GB → 2.10 GB, the same size");
    expect(sizeText(fakeOutcome({ sizeAfter: 2_100_500_000 }))).toBe("2.10 GB → 2.10 GB, 500 kB larger");
    expect(layersText(fakeOutcome())).toBe("4 layers → 1 layer");
    expect(madeText(fakeOutcome())).toBe("made by the direct method in 3.1 s · verified in 0.4 s");
    expect(madeText(fakeOutcome({ method: "buildKit", buildSeconds: 2.04 }))).toContain("made by BuildKit in 2.0 s");
    expect(madeText(fakeOutcome({ method: "classic", buildSeconds: 12.5 }))).toContain("made by the classic builder in 13 s");
  });

  it("says what its sizes count, and Docker's own figures where they differ", () => {
    expect(outcomeSizeTitle(fakeOutcome())).toBe("The images' files, unpacked");
    expect(outcomeSizeTitle(fakeOutcome({ engineSizeBefore: 3_900_000_000, engineSizeAfter: 1_500_000_000 }))).toBe(
      "The images' files, unpacked.\nDocker's own figures, 3.90 GB → 1.50 GB, also count the compressed layers.",
    );
  });

  it("words every kind of filesystem difference", () => {
    expect(differenceText("mode")).toBe("different permissions");
    expect(differenceText("missing")).toBe("missing from the squashed image");
  });

  it("asks about what was left without a name, with the preview's sizes where it has them", () => {
    const [candidate] = fakeCandidates(1);
    expect(leftBehindText([candidate.id], [candidate])).toBe(
      `This squash left 1 image without a name (${candidate.shortId}, 1.50 MB). Remove it?`,
    );
    const other = "sha256:" + "9f".repeat(32);
    expect(leftBehindText([candidate.id, other], [candidate])).toBe(
      `This squash left 2 images without a name (${candidate.shortId}, 1.50 MB; 9f9f9f9f9f9f). Remove them?`,
    );
  });

  it("gives the squashed image the list's row, or one made from the outcome", () => {
    const outcome = fakeOutcome({ movedTag: "web:1.2" });
    const made = resultImage(outcome, [], 1_700_000_000);
    expect(made).toMatchObject({
      id: outcome.resultId,
      shortId: "7e7e7e7e7e7e",
      tags: ["web:1.2-squashed", "web:1.2"],
      size: 1_070_000_000,
      layers: 1,
    });
    const listed = { ...made, tags: ["from-the-list:1"] };
    expect(resultImage(outcome, [listed], 0)).toBe(listed);
  });
});

describe("changeNames and verifiedText", () => {
  it("names environment variables and labels by key, other settings by what they are", () => {
    const original = fakePlan();
    const plan = structuredClone(original);
    plan.env = [...plan.env.filter((kv) => kv.key !== plan.env[0].key), { key: "APP_HOME", value: "/srv" }];
    plan.user = "nobody";
    plan.labels = [...plan.labels, { key: "team", value: "web" }];
    const removed = original.env[0].key;
    expect(changeNames(original, plan)).toEqual([...[removed, "APP_HOME"].sort(), "user", "label team"]);
    expect(changeNames(original, original)).toEqual([]);
  });

  it("says same settings only when nothing was changed", () => {
    expect(verifiedText([])).toBe("same files, same settings");
    expect(verifiedText(["APP_HOME"])).toBe("same files; settings as you set them (1 change: APP_HOME)");
    expect(verifiedText(["A", "B", "C", "D", "E"])).toBe("same files; settings as you set them (5 changes: A, B, C, D, …)");
  });
});
