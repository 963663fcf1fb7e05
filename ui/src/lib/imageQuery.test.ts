import { describe, expect, it } from "vitest";
import { filterImages, sortImages, stepIndex, tagsShown } from "./imageQuery";
import type { ImageSummary } from "./ipc";
import { fakeImage } from "./ipc/mockBackend";

const alpine = fakeImage("aa11", ["alpine:3.20", "alpine:latest"], { size: 8_000_000, created: 300, layers: 1 });
const node = fakeImage("bb22", ["Node:22"], { size: 1_100_000_000, created: 200, layers: 1 });
const dangling = fakeImage("cc33", [], { size: 50_000_000, created: 400, layers: 1 });
const app = fakeImage("dd44", ["registry.local:5000/app:10"], { size: 90_000_000, created: 100, layers: 1 });
const app2 = fakeImage("ee55", ["registry.local:5000/app:9"], { size: 90_000_000, created: 100, layers: 1 });
const all = [dangling, alpine, node, app, app2];

const ids = (list: readonly ImageSummary[]) => list.map((i) => i.id.slice(7, 11));

describe("filterImages", () => {
  it("keeps everything for an empty or blank query", () => {
    expect(filterImages(all, "")).toBe(all);
    expect(filterImages(all, "   ")).toBe(all);
  });

  it("matches any tag by substring, ignoring case", () => {
    expect(ids(filterImages(all, "LATEST"))).toEqual(["aa11"]);
    expect(ids(filterImages(all, "node"))).toEqual(["bb22"]);
    expect(ids(filterImages(all, "5000/app"))).toEqual(["dd44", "ee55"]);
  });

  it("matches IDs by prefix only, with or without sha256:", () => {
    expect(ids(filterImages(all, "BB22b"))).toEqual(["bb22"]);
    expect(ids(filterImages(all, "sha256:cc33"))).toEqual(["cc33"]);
    // "22bb" is inside node's ID but not at its start.
    expect(filterImages(all, "22bb")).toEqual([]);
  });

  it("finds untagged images by what the table calls them", () => {
    expect(ids(filterImages(all, "<none>"))).toEqual(["cc33"]);
  });
});

describe("sortImages", () => {
  it("sorts by size both ways", () => {
    expect(ids(sortImages(all, "size", "desc"))).toEqual(["bb22", "dd44", "ee55", "cc33", "aa11"]);
    expect(ids(sortImages(all, "size", "asc"))).toEqual(["aa11", "cc33", "dd44", "ee55", "bb22"]);
  });

  it("sorts by creation time, ties by ID", () => {
    expect(ids(sortImages(all, "created", "desc"))).toEqual(["cc33", "aa11", "bb22", "dd44", "ee55"]);
    expect(ids(sortImages(all, "created", "asc"))).toEqual(["dd44", "ee55", "bb22", "aa11", "cc33"]);
  });

  it("sorts by first tag, naturally and case-blind, untagged last either way", () => {
    expect(ids(sortImages(all, "name", "asc"))).toEqual(["aa11", "bb22", "ee55", "dd44", "cc33"]);
    expect(ids(sortImages(all, "name", "desc"))).toEqual(["dd44", "ee55", "bb22", "aa11", "cc33"]);
  });

  it("returns a copy", () => {
    const sorted = sortImages(all, "size", "asc");
    expect(sorted).not.toBe(all);
    expect(ids(all)).toEqual(["cc33", "aa11", "bb22", "dd44", "ee55"]);
  });
});

describe("stepIndex", () => {
  it("clamps to the list and starts from an end when nothing is selected", () => {
    expect(stepIndex(-1, 1, 5)).toBe(0);
    expect(stepIndex(-1, -1, 5)).toBe(4);
    expect(stepIndex(2, 1, 5)).toBe(3);
    expect(stepIndex(4, 1, 5)).toBe(4);
    expect(stepIndex(0, -1, 5)).toBe(0);
    expect(stepIndex(1, 10, 5)).toBe(4);
    expect(stepIndex(0, 1, 0)).toBe(-1);
  });
});

describe("tagsShown", () => {
  it("shows the first three in natural order and counts the rest", () => {
    const tags = Array.from({ length: 300 }, (_, i) => `app:${300 - i}`);
    expect(tagsShown(tags)).toEqual({ shown: ["app:1", "app:2", "app:3"], more: 297 });
    expect(tagsShown(["b:10", "b:9"])).toEqual({ shown: ["b:9", "b:10"], more: 0 });
    expect(tagsShown([])).toEqual({ shown: [], more: 0 });
  });
});

describe("sorting by what a squash could save", () => {
  it("puts measured savings by size above hints, and hints above nothing known", () => {
    const saving = (id: string, s: ImageSummary["saving"]) => fakeImage(id, ["x:" + id], { size: 1, created: 1, layers: 1, saving: s });
    const big = saving("a1", { kind: "measured", bytes: 900, layerBytes: 1000 });
    const none = saving("b2", { kind: "measured", bytes: 0, layerBytes: 1000 });
    const hint = saving("c3", { kind: "likely", step: 2, steps: 3, command: "RUN rm x", upTo: null });
    const unknown = saving("d4", { kind: "unknown" });
    expect(sortImages([unknown, none, hint, big], "saving", "desc")).toEqual([big, none, hint, unknown]);
    expect(sortImages([unknown, none, hint, big], "saving", "asc")).toEqual([unknown, hint, none, big]);
  });
});
