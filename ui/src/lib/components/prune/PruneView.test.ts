import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import App from "../../../App.svelte";
import type { DiskUsage, IpcError, PruneResult } from "../../ipc";
import {
  connectedHandlers,
  FAKE_ATTEMPTS,
  fakeCachePreview,
  fakeCandidates,
  fakeDiskUsage,
  fakeImage,
  fakeInfo,
  fakePrunePreview,
  type Handlers,
  mockCommands,
  progressSender,
} from "../../ipc/mockBackend";
import { deferred } from "../../../test/deferred";

const NOW = Math.floor(Date.now() / 1000);

// Three dangling images (they free 1.5, 3.0 and 4.5 MB: 9.00 MB in all), one in use.
const CANDIDATES = fakeCandidates(3, NOW);
const IDS = CANDIDATES.map((c) => c.id);

const IMAGES = [
  fakeImage("a1", ["alpine:3.20"], { created: NOW - 60, layers: 3 }),
  ...CANDIDATES.map((c) => fakeImage(c.id, [], { layers: 3, created: c.created, size: c.size, engineSize: c.engineSize })),
  fakeImage("e5", [], { created: NOW - 60, layers: 3, inUse: true }),
];

function backend(overrides: Handlers = {}): Handlers {
  return {
    ...connectedHandlers(IMAGES),
    disk_usage: () => fakeDiskUsage(),
    preview_prune: () => fakePrunePreview(CANDIDATES, 1),
    preview_build_cache: () => fakeCachePreview(),
    ...overrides,
  };
}

const text = (testId: string) => screen.getByTestId(testId).textContent?.replace(/\s+/g, " ").trim();
const kind = (key: string) => screen.getAllByTestId("disk-kind").find((r) => r.dataset.kind === key)!;
const cell = (key: string, testId: string) => within(kind(key)).getByTestId(testId).textContent?.replace(/\s+/g, " ").trim();

async function openPrune(handlers: Handlers) {
  mockCommands(handlers);
  render(App);
  await screen.findAllByTestId("image-row");
  await fireEvent.click(screen.getByTestId("open-prune"));
  await screen.findAllByTestId("prune-candidate");
}

describe("disk & prune view", () => {
  it("opens from the toolbar with Docker's usage, the host disk and the dangling images", async () => {
    await openPrune(backend());

    expect(screen.getByTestId("prune-view")).toBeTruthy();
    expect(screen.queryByTestId("image-table")).toBeNull();
    expect(screen.getByTestId("connection-bar")).toBeTruthy();

    await screen.findByTestId("disk-usage");
    expect(screen.getAllByTestId("disk-kind").map((r) => r.dataset.kind)).toEqual(["images", "containers", "volumes", "buildCache"]);
    expect(cell("images", "disk-kind-size")).toBe("4.20 GB");
    expect(cell("images", "disk-kind-count")).toBe("24 (6 in use)");
    expect(cell("images", "disk-kind-reclaimable")).toBe("1.30 GB (31%)");
    expect(cell("containers", "disk-kind-count")).toBe("9 (3 running)");
    expect(cell("buildCache", "disk-kind-reclaimable")).toBe("2.40 GB (100%)");
    expect(screen.getByTestId("prune-view").textContent).toContain("as the daemon reckons it");
    expect(text("host-disk-text")).toBe("Disk at / — 58.0 GB free of 252 GB");
    expect(within(screen.getByTestId("host-disk")).getByRole("progressbar").getAttribute("aria-valuenow")).toBe("77");

    const rows = screen.getAllByTestId("prune-candidate");
    expect(rows.map((r) => r.dataset.imageId)).toEqual(IDS);
    expect(rows[0].textContent).toContain(CANDIDATES[0].shortId);
    expect(rows[0].textContent).toContain("1 hour ago");
    expect(within(rows[2]).getByTestId("prune-candidate-frees").textContent).toBe("frees about 4.50 MB");
    expect(text("prune-estimate")).toBe("About 9.00 MB to free");
    expect(text("prune-kept")).toBe("1 dangling image stays because a container uses it.");
    expect(text("prune-images")).toBe("Remove 3 dangling images…");
    expect(text("prune-cache-summary")).toBe("57 entries · 2.40 GB reclaimable");
    expect(within(rows[0]).getByTestId("prune-candidate-origin").textContent).toBe("origin unknown");
  });

  it("leads with what clean-up frees, with Docker's larger figure beside it, explained", async () => {
    await openPrune(backend());

    const sections = [...screen.getByTestId("prune-view").querySelectorAll("section")].map((s) => s.dataset.testid);
    expect(sections[0]).toBe("free-headline");
    await screen.findByTestId("free-docker");
    expect(text("free-bytes")).toBe("About 2.41 GB");
    expect(text("free-parts")).toBe(
      "9.00 MB from 3 dangling images · 2.40 GB of build cache no image uses, each removed only after you confirm below.",
    );
    expect(text("free-docker")).toContain("1.30 GB Docker calls reclaimable in images");
    expect(text("free-docker")).toContain("Squashbox never removes a tagged image");
    // Each section's heading in plain words first, Docker's term beside it.
    const headings = [...screen.getByTestId("prune-view").querySelectorAll("h2")].map((h) => h.textContent?.replace(/\s+/g, " ").trim());
    expect(headings).toContainEqual(
      expect.stringMatching(/^Images without a name 3 left behind by a rebuild or a squash; Docker calls them dangling/),
    );
    expect(headings).toContainEqual(
      expect.stringMatching(/^Saved build steps kept to speed up later builds; Docker calls this the build cache/),
    );
  });

  it("says which squash left an image dangling", async () => {
    const [left, other] = CANDIDATES;
    await openPrune(backend({ preview_prune: () => fakePrunePreview([{ ...left, leftBy: "app:1.2" }, other]) }));
    const rows = screen.getAllByTestId("prune-candidate");
    expect(within(rows[0]).getByTestId("prune-candidate-left-by").textContent).toBe("left by squashing app:1.2");
    expect(within(rows[1]).queryByTestId("prune-candidate-left-by")).toBeNull();
  });

  it("shows the dangling images before the slower usage answers", async () => {
    const usage = deferred<DiskUsage>();
    await openPrune(backend({ disk_usage: () => usage.promise }));
    expect(screen.getByTestId("disk-usage-loading")).toBeTruthy();
    expect(screen.getAllByTestId("prune-candidate")).toHaveLength(3);

    usage.resolve(fakeDiskUsage());
    expect(await screen.findByTestId("disk-usage")).toBeTruthy();
    expect(screen.queryByTestId("disk-usage-loading")).toBeNull();
  });

  it("hides the host disk when the daemon is remote", async () => {
    await openPrune(backend({ disk_usage: () => fakeDiskUsage({ hostDisk: null }) }));
    await screen.findByTestId("disk-usage");
    expect(screen.queryByTestId("host-disk")).toBeNull();
  });

  it("hints at the dangling images in the list toolbar and opens the view from there", async () => {
    mockCommands(backend());
    render(App);
    await screen.findAllByTestId("image-row");
    // The count comes from the list, the bytes from the preview once it has the same images.
    await waitFor(() => expect(text("prune-hint")).toBe("3 dangling · 9.00 MB"));

    await fireEvent.click(screen.getByTestId("prune-hint"));
    expect(screen.getByTestId("prune-view")).toBeTruthy();
  });

  it("shows no hint when nothing dangles, and says so in the view without a remove button", async () => {
    mockCommands(
      backend({
        list_images: () => IMAGES.filter((i) => !i.dangling || i.inUse),
        preview_prune: () => fakePrunePreview([], 1),
      }),
    );
    render(App);
    await screen.findAllByTestId("image-row");
    expect(screen.queryByTestId("prune-hint")).toBeNull();

    await fireEvent.click(screen.getByTestId("open-prune"));
    expect((await screen.findByTestId("prune-empty")).textContent).toBe("No dangling images. Nothing to clean up.");
    expect(screen.queryByTestId("prune-images")).toBeNull();
    expect(screen.queryAllByTestId("prune-candidate")).toHaveLength(0);
    expect(text("prune-kept")).toBe("1 dangling image stays because a container uses it.");
  });

  it("asks first, with the safe answer focused, and No removes nothing", async () => {
    const prune = vi.fn(() => ({ imagesDeleted: [], spaceReclaimed: 0, skipped: [] }));
    await openPrune(backend({ prune_images: prune }));

    await fireEvent.click(screen.getByTestId("prune-images"));
    const confirm = screen.getByTestId("prune-confirm");
    expect(confirm.textContent).toContain("Remove 3 dangling images?");
    expect(text("prune-confirm-text")).toBe("Exactly the 3 images listed above go, freeing about 9.00 MB.");
    expect(confirm.textContent).toContain("Tagged images and images a container uses are never removed");
    expect(text("prune-confirm-yes")).toBe("Remove 3 images");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("prune-confirm-no")));
    expect(screen.queryByTestId("prune-images")).toBeNull();

    await fireEvent.click(screen.getByTestId("prune-confirm-no"));
    expect(screen.queryByTestId("prune-confirm")).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("prune-images")));

    // Escape in the confirm is a No too, and stays in the view.
    await fireEvent.click(screen.getByTestId("prune-images"));
    await fireEvent.keyDown(screen.getByTestId("prune-confirm-no"), { key: "Escape" });
    expect(screen.queryByTestId("prune-confirm")).toBeNull();
    expect(screen.getByTestId("prune-view")).toBeTruthy();
    expect(prune).not.toHaveBeenCalled();
  });

  it("removes exactly the previewed images on Yes, shows progress, the result and a new preview", async () => {
    const answer = deferred<PruneResult>();
    const prune = vi.fn((args: Record<string, unknown>) => {
      const send = progressSender(args);
      send({ stage: "removing", done: 0, total: 3 });
      send({ stage: "removing", done: 1, total: 3 });
      return answer.promise;
    });
    const preview = vi.fn(() => fakePrunePreview(CANDIDATES, 1));
    const usage = vi.fn(() => fakeDiskUsage());
    await openPrune(backend({ prune_images: prune, preview_prune: preview, disk_usage: usage }));
    await screen.findByTestId("disk-usage");
    const previewsBefore = preview.mock.calls.length;
    const usagesBefore = usage.mock.calls.length;

    await fireEvent.click(screen.getByTestId("prune-images"));
    await fireEvent.click(screen.getByTestId("prune-confirm-yes"));

    expect(prune).toHaveBeenCalledTimes(1);
    expect(prune.mock.calls[0][0].ids).toEqual(IDS);
    await waitFor(() => expect(text("prune-progress-text")).toBe("Removing 2 of 3…"));
    expect(within(screen.getByTestId("prune-progress")).getByRole("progressbar").getAttribute("aria-valuenow")).toBe("33");
    expect(screen.queryByTestId("prune-images")).toBeNull();

    preview.mockImplementation(() => fakePrunePreview([], 1));
    answer.resolve({
      imagesDeleted: [IDS[0], IDS[2], "sha256:" + "7f".repeat(32)],
      spaceReclaimed: 12_300_000,
      skipped: [{ id: IDS[1], reason: "tagged since the preview (app/api:next)" }],
    });

    const result = await screen.findByTestId("prune-result");
    expect(text("prune-result-text")).toBe("Removed 2 images · 12.3 MB reclaimed");
    expect(result.textContent).toContain("(the daemon's figure)");
    const skipped = screen.getAllByTestId("prune-skipped-item").map((s) => s.textContent?.replace(/\s+/g, " ").trim());
    expect(skipped).toEqual([`${CANDIDATES[1].shortId} tagged since the preview (app/api:next)`]);
    expect(screen.queryByTestId("prune-progress")).toBeNull();

    await waitFor(() => expect(screen.getByTestId("prune-empty")).toBeTruthy());
    expect(preview.mock.calls.length).toBe(previewsBefore + 1);
    expect(usage.mock.calls.length).toBe(usagesBefore + 1);
  });

  it("keeps the confirmed list when a newer preview arrives while the question is open", async () => {
    const prune = vi.fn((_args: Record<string, unknown>): PruneResult => ({ imagesDeleted: IDS, spaceReclaimed: 9_000_000, skipped: [] }));
    const preview = vi.fn(() => fakePrunePreview(CANDIDATES));
    await openPrune(backend({ prune_images: prune, preview_prune: preview }));

    await fireEvent.click(screen.getByTestId("prune-images"));
    // A build beside us left a fourth dangling image; the refresh must not slip it in.
    preview.mockImplementation(() => fakePrunePreview(fakeCandidates(4, NOW)));
    await fireEvent.keyDown(window, { key: "F5" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(screen.getAllByTestId("prune-candidate")).toHaveLength(3);

    await fireEvent.click(screen.getByTestId("prune-confirm-yes"));
    await screen.findByTestId("prune-result");
    expect(prune.mock.calls[0][0]).toMatchObject({ ids: IDS });
    // Afterwards the fresh preview shows the new one.
    await waitFor(() => expect(screen.getAllByTestId("prune-candidate")).toHaveLength(4));
  });

  it("says why a removal failed and shows what is left", async () => {
    const preview = vi.fn(() => fakePrunePreview(CANDIDATES));
    await openPrune(
      backend({
        preview_prune: preview,
        prune_images: () => {
          preview.mockImplementation(() => fakePrunePreview(CANDIDATES.slice(1)));
          throw { code: "daemon", message: "conflict: unable to delete (must be forced)", attempts: null } satisfies IpcError;
        },
      }),
    );
    await fireEvent.click(screen.getByTestId("prune-images"));
    await fireEvent.click(screen.getByTestId("prune-confirm-yes"));

    expect((await screen.findByTestId("prune-error")).textContent).toContain("conflict: unable to delete (must be forced)");
    await waitFor(() => expect(screen.getAllByTestId("prune-candidate")).toHaveLength(2));
    expect(text("prune-images")).toBe("Remove 2 dangling images…");
  });

  it("frees the build cache only after its own confirm, then shows the result", async () => {
    const pruneCache = vi.fn(() => ({ entriesDeleted: 57, spaceReclaimed: 2_400_000_000 }));
    const cachePreview = vi.fn(() => fakeCachePreview());
    await openPrune(backend({ prune_build_cache: pruneCache, preview_build_cache: cachePreview }));
    await screen.findByTestId("prune-cache-summary");

    await fireEvent.click(screen.getByTestId("prune-cache"));
    expect(screen.getByTestId("prune-cache-confirm").textContent).toContain("57 entries, about 2.40 GB");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("prune-cache-confirm-no")));
    await fireEvent.click(screen.getByTestId("prune-cache-confirm-no"));
    expect(pruneCache).not.toHaveBeenCalled();

    cachePreview.mockImplementation(() => fakeCachePreview({ entries: 0, reclaimable: 0 }));
    await fireEvent.click(screen.getByTestId("prune-cache"));
    await fireEvent.click(screen.getByTestId("prune-cache-confirm-yes"));
    await screen.findByTestId("prune-cache-result");
    expect(pruneCache).toHaveBeenCalledTimes(1);
    expect(text("prune-cache-result")).toContain("Freed 57 entries · 2.40 GB reclaimed (the daemon's figure)");
    await waitFor(() => expect(screen.getByTestId("prune-cache-empty")).toBeTruthy());
    expect(screen.queryByTestId("prune-cache")).toBeNull();
  });

  it("goes back to the list with the back button and Escape", async () => {
    await openPrune(backend());
    await fireEvent.click(screen.getByTestId("prune-back"));
    expect(screen.queryByTestId("prune-view")).toBeNull();
    expect(screen.getByTestId("image-table")).toBeTruthy();
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("open-prune")));

    await fireEvent.click(screen.getByTestId("open-prune"));
    await fireEvent.keyDown(window, { key: "Escape" });
    expect(screen.queryByTestId("prune-view")).toBeNull();
  });

  it("goes to the no-daemon screen when the daemon goes away mid-prune", async () => {
    const connect = vi.fn<() => unknown>(() => fakeInfo());
    await openPrune(
      backend({
        connect,
        prune_images: () => {
          connect.mockImplementation(() => Promise.reject({ code: "daemonUnavailable", message: "gone", attempts: FAKE_ATTEMPTS }));
          throw { code: "stream", message: "the connection to the daemon broke", attempts: null } satisfies IpcError;
        },
      }),
    );
    await fireEvent.click(screen.getByTestId("prune-images"));
    await fireEvent.click(screen.getByTestId("prune-confirm-yes"));
    expect(await screen.findByTestId("no-daemon")).toBeTruthy();
  });

  it("goes to the no-daemon screen when the usage finds the daemon gone", async () => {
    mockCommands(
      backend({
        connect: vi
          .fn()
          .mockReturnValueOnce(fakeInfo())
          .mockRejectedValue({ code: "daemonUnavailable", message: "gone", attempts: FAKE_ATTEMPTS }),
        disk_usage: () => Promise.reject({ code: "daemonUnavailable", message: "gone", attempts: null }),
      }),
    );
    render(App);
    await screen.findAllByTestId("image-row");
    await fireEvent.click(screen.getByTestId("open-prune"));
    expect(await screen.findByTestId("no-daemon")).toBeTruthy();
  });
});
