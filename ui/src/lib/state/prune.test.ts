import { describe, expect, it, vi } from "vitest";
import type { PrunePreview, PruneResult } from "../ipc";
import { fakeCachePreview, fakeCandidates, fakeDiskUsage, fakePrunePreview, mockCommands, unavailable } from "../ipc/mockBackend";
import { Prune } from "./prune.svelte";
import { deferred } from "../../test/deferred";

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const CANDIDATES = fakeCandidates(2);

function handlers(overrides: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  return {
    disk_usage: () => fakeDiskUsage(),
    preview_prune: () => fakePrunePreview(CANDIDATES),
    preview_build_cache: () => fakeCachePreview(),
    ...overrides,
  };
}

describe("Prune", () => {
  it("loads the three previews on open, each on its own", async () => {
    const usage = deferred<unknown>();
    mockCommands(handlers({ disk_usage: () => usage.promise }));
    const prune = new Prune();
    prune.open();
    await settle();
    expect(prune.isOpen).toBe(true);
    expect(prune.preview.value?.images).toHaveLength(2);
    expect(prune.cache.value?.entries).toBe(57);
    expect(prune.usage.loading).toBe(true);
    usage.resolve(fakeDiskUsage());
    await settle();
    expect(prune.usage.value?.images.size).toBe(4_200_000_000);
  });

  it("keeps the last answer while a newer one loads, and the newest wins", async () => {
    const slow = deferred<PrunePreview>();
    const preview = vi.fn((): PrunePreview | Promise<PrunePreview> => fakePrunePreview(CANDIDATES));
    mockCommands(handlers({ preview_prune: preview }));
    const prune = new Prune();
    prune.loadPreview();
    await settle();
    preview.mockImplementationOnce(() => slow.promise);
    prune.loadPreview();
    expect(prune.preview.value?.images).toHaveLength(2);
    prune.loadPreview();
    await settle();
    slow.resolve(fakePrunePreview(3));
    await settle();
    expect(prune.preview.value?.images).toHaveLength(2);
    expect(prune.preview.loading).toBe(false);
  });

  it("previews for the toolbar's hint only when something dangles, and everything when open", async () => {
    const usage = vi.fn(() => fakeDiskUsage());
    const preview = vi.fn(() => fakePrunePreview(CANDIDATES));
    mockCommands(handlers({ disk_usage: usage, preview_prune: preview }));
    const prune = new Prune();
    prune.imagesLoaded(0);
    expect(preview).not.toHaveBeenCalled();
    prune.imagesLoaded(2);
    await settle();
    expect(preview).toHaveBeenCalledTimes(1);
    expect(usage).not.toHaveBeenCalled();
    prune.open();
    prune.imagesLoaded(0);
    await settle();
    expect(usage).toHaveBeenCalledTimes(2);
  });

  it("removes the confirmed images only after a yes, and nothing after a no", async () => {
    const pruneImages = vi.fn((): PruneResult => ({ imagesDeleted: [CANDIDATES[0].id], spaceReclaimed: 10, skipped: [] }));
    mockCommands(handlers({ prune_images: pruneImages }));
    const prune = new Prune();
    prune.open();
    await settle();

    await prune.remove();
    expect(pruneImages).not.toHaveBeenCalled();
    prune.askRemove();
    expect(prune.step).toBe("confirm");
    expect(prune.confirmingBytes).toBe(1_500_000 + 3_000_000);
    prune.cancelRemove();
    expect(prune.step).toBe("idle");
    await prune.remove();
    expect(pruneImages).not.toHaveBeenCalled();

    prune.askRemove();
    await prune.remove();
    expect(pruneImages).toHaveBeenCalledWith(expect.objectContaining({ ids: CANDIDATES.map((c) => c.id) }));
    expect(prune.step).toBe("done");
    expect(prune.removed).toBe(2);
  });

  it("asks nothing when there is nothing to remove", async () => {
    mockCommands(handlers({ preview_prune: () => fakePrunePreview([]) }));
    const prune = new Prune();
    prune.open();
    await settle();
    prune.askRemove();
    expect(prune.step).toBe("idle");
  });

  it("closes and hands a lost daemon to its owner", async () => {
    const onConnectionLost = vi.fn();
    mockCommands(
      handlers({
        disk_usage: () => Promise.reject(unavailable()),
        preview_prune: () => Promise.reject(unavailable()),
        preview_build_cache: () => Promise.reject(unavailable()),
      }),
    );
    const prune = new Prune({ onConnectionLost });
    prune.open();
    await settle();
    expect(prune.isOpen).toBe(false);
    // Three loads failed the same way; the owner hears of it once.
    expect(onConnectionLost).toHaveBeenCalledTimes(1);
    expect(onConnectionLost.mock.calls[0][0]).toMatchObject({ code: "daemonUnavailable" });
  });

  it("answers an open confirm with no when the view closes, and starts afresh when opened", async () => {
    mockCommands(handlers({ prune_build_cache: () => ({ entriesDeleted: 1, spaceReclaimed: 5 }) }));
    const prune = new Prune();
    prune.open();
    await settle();
    prune.askRemove();
    prune.askFreeCache();
    prune.close();
    expect(prune.step).toBe("idle");
    expect(prune.cacheStep).toBe("idle");

    prune.open();
    prune.askFreeCache();
    await prune.freeCache();
    expect(prune.cacheStep).toBe("done");
    prune.close();
    prune.open();
    expect(prune.cacheStep).toBe("idle");
  });
});
