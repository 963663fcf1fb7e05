import { describe, expect, it } from "vitest";
import { fakeCachePreview, fakeDiskUsage, fakePrunePreview } from "./ipc/mockBackend";
import {
  cacheResultText,
  dockerBytes,
  freeSummary,
  hostDiskText,
  hostDiskUsed,
  pruneResultText,
  removedCount,
  removingFraction,
  removingText,
  usageRows,
} from "./prune";

describe("usageRows", () => {
  it("lists the four kinds in order, with counts and bars against the largest", () => {
    const rows = usageRows(fakeDiskUsage());
    expect(rows.map((r) => r.label)).toEqual(["Images", "Containers", "Volumes", "Build cache"]);
    expect(rows.map((r) => r.countText)).toEqual(["24 (6 in use)", "9 (3 running)", "4 (2 in use)", "57 (0 in use)"]);
    expect(rows[0].share).toBe(1);
    expect(rows[3].share).toBeCloseTo(2.4 / 4.2);
    expect(rows[3].reclaimableShare).toBe(1);
  });

  it("draws no bars when Docker holds nothing, and never a share above 1", () => {
    const empty = { count: 0, active: 0, size: 0, reclaimable: 0 };
    const rows = usageRows(fakeDiskUsage({ images: empty, containers: empty, volumes: empty, buildCache: { ...empty, reclaimable: 5 } }));
    expect(rows.every((r) => r.share === 0 && r.reclaimableShare === 0)).toBe(true);
  });

  it("adds the kinds up for Docker's total", () => {
    expect(dockerBytes(fakeDiskUsage())).toBe(4_200_000_000 + 120_000_000 + 800_000_000 + 2_400_000_000);
  });
});

describe("host disk", () => {
  it("says what is free of what, and how full it is", () => {
    const disk = { mountPoint: "/var/lib/docker", total: 252_000_000_000, available: 58_000_000_000 };
    expect(hostDiskText(disk)).toBe("Disk at /var/lib/docker — 58.0 GB free of 252 GB");
    expect(hostDiskUsed(disk)).toBeCloseTo(194 / 252);
    expect(hostDiskUsed({ ...disk, total: 0 })).toBe(0);
  });
});

describe("removing", () => {
  it("counts the image being removed, then says it is measuring", () => {
    expect(removingText(null, 5)).toBe("Removing 1 of 5…");
    expect(removingText({ stage: "removing", done: 1, total: 5 }, 5)).toBe("Removing 2 of 5…");
    expect(removingText({ stage: "removing", done: 5, total: 5 }, 5)).toBe("Removed 5 of 5, measuring the space freed…");
    expect(removingFraction({ stage: "removing", done: 1, total: 4 }, 4)).toBe(0.25);
    expect(removingFraction(null, 4)).toBe(0);
  });

  it("counts what went from the IDs asked for, not from the deleted layers", () => {
    const result = {
      imagesDeleted: ["sha256:a", "sha256:layer1", "sha256:layer2", "sha256:c"],
      spaceReclaimed: 1,
      skipped: [{ id: "sha256:b", reason: "already gone" }],
    };
    expect(removedCount(["sha256:a", "sha256:b", "sha256:c"], result)).toBe(2);
  });

  it("words the outcome", () => {
    expect(pruneResultText(5, 12_300_000)).toBe("Removed 5 images · 12.3 MB reclaimed");
    expect(pruneResultText(1, 0)).toBe("Removed 1 image · 0 B reclaimed");
    expect(pruneResultText(0, 0)).toBe("Removed nothing");
    expect(cacheResultText(1, 2_000)).toBe("Freed 1 entry · 2.00 kB reclaimed");
    expect(cacheResultText(0, 0)).toBe("Freed nothing: no build cache was unused");
  });
});

describe("freeSummary", () => {
  it("leads with what the prune view's own actions free, and keeps Docker's figure apart", () => {
    // 1.5 + 3.0 + 4.5 MB from three dangling images, 2.4 GB of cache; Docker says 1.3 GB of images.
    const summary = freeSummary(fakePrunePreview(3), fakeCachePreview(), fakeDiskUsage());
    expect(summary).toEqual({
      bytes: 9_000_000 + 2_400_000_000,
      parts: ["9.00 MB from 3 dangling images", "2.40 GB of build cache no image uses"],
      dockerImages: 1_300_000_000,
    });
  });

  it("says nothing is freed when nothing is, and waits for both previews", () => {
    expect(freeSummary(fakePrunePreview(0), fakeCachePreview({ entries: 0, reclaimable: 0 }), null)).toEqual({
      bytes: 0,
      parts: [],
      dockerImages: null,
    });
    expect(freeSummary(null, fakeCachePreview(), fakeDiskUsage())).toBeNull();
    expect(freeSummary(fakePrunePreview(1), null, fakeDiskUsage())).toBeNull();
  });
});
