import { describe, expect, it, vi } from "vitest";
import type { PrunePreview, PruneResult } from "../ipc";
import { fakeCachePreview, fakeCandidates, fakeDiskUsage, fakePrunePreview, mockCommands, unavailable } from "../ipc/mockBackend";
import { Cleanup } from "./cleanup.svelte";
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

describe("Cleanup", () => {
  it("loads the three previews on open, each on its own", async () => {
    const overview = deferred<unknown>();
    mockCommands(handlers({ disk_usage: () => overview.promise }));
    const cleanup = new Cleanup();
    cleanup.open();
    await settle();
    expect(cleanup.isOpen).toBe(true);
    expect(cleanup.preview.value?.images).toHaveLength(2);
    expect(cleanup.cache.value?.entries).toBe(57);
    expect(cleanup.overview.loading).toBe(true);
    overview.resolve(fakeDiskUsage());
    await settle();
    expect(cleanup.overview.value?.images.size).toBe(4_200_000_000);
  });

  it("keeps the last answer while a newer one loads, and the newest wins", async () => {
    const slow = deferred<PrunePreview>();
    const preview = vi.fn((): PrunePreview | Promise<PrunePreview> => fakePrunePreview(CANDIDATES));
    mockCommands(handlers({ preview_prune: preview }));
    const cleanup = new Cleanup();
    cleanup.loadPreview();
    await settle();
    preview.mockImplementationOnce(() => slow.promise);
    cleanup.loadPreview();
    expect(cleanup.preview.value?.images).toHaveLength(2);
    cleanup.loadPreview();
    await settle();
    slow.resolve(fakePrunePreview(3));
    await settle();
    expect(cleanup.preview.value?.images).toHaveLength(2);
    expect(cleanup.preview.loading).toBe(false);
  });

  it("previews for the toolbar's hint only when something dangles, and everything when open", async () => {
    const overview = vi.fn(() => fakeDiskUsage());
    const preview = vi.fn(() => fakePrunePreview(CANDIDATES));
    mockCommands(handlers({ disk_usage: overview, preview_prune: preview }));
    const cleanup = new Cleanup();
    cleanup.imagesLoaded(0);
    expect(preview).not.toHaveBeenCalled();
    cleanup.imagesLoaded(2);
    await settle();
    expect(preview).toHaveBeenCalledTimes(1);
    expect(overview).not.toHaveBeenCalled();
    cleanup.open();
    cleanup.imagesLoaded(0);
    await settle();
    expect(overview).toHaveBeenCalledTimes(2);
  });

  it("removes the confirmed images only after a yes, and nothing after a no", async () => {
    const prune = vi.fn((): PruneResult => ({ imagesDeleted: [CANDIDATES[0].id], spaceReclaimed: 10, skipped: [] }));
    mockCommands(handlers({ prune_images: prune }));
    const cleanup = new Cleanup();
    cleanup.open();
    await settle();

    await cleanup.remove();
    expect(prune).not.toHaveBeenCalled();
    cleanup.askRemove();
    expect(cleanup.step).toBe("confirm");
    expect(cleanup.confirmingBytes).toBe(1_500_000 + 3_000_000);
    cleanup.cancelRemove();
    expect(cleanup.step).toBe("idle");
    await cleanup.remove();
    expect(prune).not.toHaveBeenCalled();

    cleanup.askRemove();
    await cleanup.remove();
    expect(prune).toHaveBeenCalledWith(expect.objectContaining({ ids: CANDIDATES.map((c) => c.id) }));
    expect(cleanup.step).toBe("done");
    expect(cleanup.removed).toBe(2);
  });

  it("asks nothing when there is nothing to remove", async () => {
    mockCommands(handlers({ preview_prune: () => fakePrunePreview([]) }));
    const cleanup = new Cleanup();
    cleanup.open();
    await settle();
    cleanup.askRemove();
    expect(cleanup.step).toBe("idle");
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
    const cleanup = new Cleanup({ onConnectionLost });
    cleanup.open();
    await settle();
    expect(cleanup.isOpen).toBe(false);
    // Three loads failed the same way; the owner hears of it once.
    expect(onConnectionLost).toHaveBeenCalledTimes(1);
    expect(onConnectionLost.mock.calls[0][0]).toMatchObject({ code: "daemonUnavailable" });
  });

  it("answers an open confirm with no when the view closes, and starts afresh when opened", async () => {
    mockCommands(handlers({ prune_build_cache: () => ({ entriesDeleted: 1, spaceReclaimed: 5 }) }));
    const cleanup = new Cleanup();
    cleanup.open();
    await settle();
    cleanup.askRemove();
    cleanup.askFreeCache();
    cleanup.close();
    expect(cleanup.step).toBe("idle");
    expect(cleanup.cacheStep).toBe("idle");

    cleanup.open();
    cleanup.askFreeCache();
    await cleanup.freeCache();
    expect(cleanup.cacheStep).toBe("done");
    cleanup.close();
    cleanup.open();
    expect(cleanup.cacheStep).toBe("idle");
  });
});
