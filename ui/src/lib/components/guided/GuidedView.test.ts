import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import App from "../../../App.svelte";
import type { ImageSummary, PruneCandidate } from "../../ipc";
import {
  connectedHandlers,
  fakeImage,
  fakeOutcome,
  fakePlan,
  fakePreflight,
  fakeReport,
  type Handlers,
  mockCommands,
} from "../../ipc/mockBackend";

const NOW = Math.floor(Date.now() / 1000);

const WEB = fakeImage("5a", ["web:1.2"], {
  size: 2_100_000_000,
  created: NOW - 60,
  layers: 4,
  saving: { kind: "measured", bytes: 1_030_000_000, layerBytes: 2_100_000_000 },
});
const FLAT = fakeImage("6b", ["flat:1"], { size: 2_100_000_000, created: NOW - 60, layers: 1, saving: { kind: "unknown" } });
const LOOSE = fakeImage("c3", [], {
  size: 2_100_000_000,
  created: NOW - 60,
  layers: 3,
  saving: { kind: "likely", step: 3, steps: 5, command: "RUN rm -rf /tmp/x", upTo: null },
});
const ORIGINAL: PruneCandidate = {
  id: WEB.id,
  shortId: WEB.shortId,
  created: NOW - 60,
  size: 2_100_000_000,
  engineSize: 2_100_000_000,
  uniqueSize: 2_000_000_000,
  leftBy: "web:1.2",
};

function backend(overrides: Handlers = {}): Handlers {
  return {
    ...connectedHandlers([WEB, FLAT, LOOSE]),
    audit_image: () => fakeReport(),
    plan_squash: (args) => fakePlan({ sourceId: args.imageId as string, sourceName: args.name as string }),
    render_squash: () => "FROM scratch\n",
    // The plan's tag is the image's own name, so the preflight finds the image itself under it.
    preflight_squash: () => fakePreflight({ tagTakenBy: WEB.id }),
    run_squash: () => fakeOutcome({ sourceId: WEB.id, tag: "web:1.2", leftBehind: [WEB.id] }),
    cancel_squash: () => null,
    preview_prune: () => ({ images: [ORIGINAL], estimatedBytes: ORIGINAL.uniqueSize, keptInUse: 0 }),
    prune_images: () => ({ imagesDeleted: [WEB.id], spaceReclaimed: 2_000_000_000, skipped: [] }),
    ...overrides,
  };
}

const row = (img: ImageSummary) => screen.getAllByTestId("image-row").find((r) => r.dataset.imageId === img.id)!;
const text = (testId: string) => screen.getByTestId(testId).textContent?.replace(/\s+/g, " ").trim();

async function openSmaller(handlers: Handlers) {
  mockCommands(handlers);
  render(App);
  await screen.findAllByTestId("image-row");
  await fireEvent.click(within(row(WEB)).getByTestId("smaller-open"));
  await screen.findByTestId("smaller-intro");
  await waitFor(() => expect((screen.getByTestId("smaller-start") as HTMLButtonElement).disabled).toBe(false));
}

describe("the list", () => {
  it("says what each image could save, and offers Make it smaller only where it can help", async () => {
    mockCommands(backend());
    render(App);
    await screen.findAllByTestId("image-row");
    expect(within(row(WEB)).getByTestId("image-saving").textContent).toBe("1.03 GB49%");
    expect(within(row(LOOSE)).getByTestId("image-saving").textContent).toBe("maybe");
    expect(within(row(LOOSE)).getByTestId("image-saving").title).toContain("Step 3 of 5 deletes files (RUN rm -rf /tmp/x)");
    expect(within(row(FLAT)).getByTestId("image-saving").textContent).toBe("—");
    const button = (img: ImageSummary) => within(row(img)).getByTestId("smaller-open") as HTMLButtonElement;
    expect(button(WEB).disabled).toBe(false);
    expect(button(FLAT).disabled).toBe(true);
    expect(button(FLAT).title).toContain("one layer already");
    expect(button(LOOSE).disabled).toBe(true);
    expect(button(LOOSE).title).toContain("no name");
  });
});

describe("Make it smaller", () => {
  it("squashes under the image's own name without asking again, then frees the original after the confirm", async () => {
    const run = vi.fn(backend().run_squash!);
    const prune = vi.fn(backend().prune_images!);
    await openSmaller(backend({ run_squash: run, prune_images: prune }));
    expect(text("smaller-expected")).toBe("It should save 1.03 GB (49% of what its layers hold), as an audit measured.");

    expect(screen.getByRole("heading", { level: 1 }).textContent).toContain("Make smaller:");
    await fireEvent.click(screen.getByTestId("smaller-start"));
    // The name moving is what the person chose: no "tag taken" question.
    await screen.findByTestId("smaller-done-panel");
    expect(run).toHaveBeenCalledTimes(1);
    expect(run.mock.calls[0][0]).toMatchObject({ plan: { tag: "web:1.2" }, options: { overwriteTag: true, moveSourceTag: false } });
    expect(screen.getByTestId("smaller-done-panel").textContent).toContain("web:1.2 is now 1.07 GB instead of 2.10 GB");
    expect(text("smaller-saved")).toBe("1.03 GB less (49%).");
    expect(text("smaller-verified")).toBe("✓ Checked: same files, same settings. web:1.2 now names the smaller image.");
    await waitFor(() => expect(text("smaller-free-text")).toContain("Removing it frees 2.00 GB"));
    // What went, where a person looks: by folder (the audit's read of the image) and by file.
    const usr = screen.getAllByTestId("squash-folder-row").find((r) => r.textContent?.includes("/usr"))!;
    expect([...usr.querySelectorAll("td")].map((td) => td.textContent)).toEqual(["/usr", "1.42 GB", "420 MB"]);
    expect(screen.getAllByTestId("squash-dropped-file")[0].textContent).toContain("/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus");

    await fireEvent.click(screen.getByTestId("smaller-free"));
    expect(text("smaller-free-confirm")).toContain("freeing 2.00 GB; layers it shares with other images stay");
    expect(prune).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId("smaller-free-confirm-yes"));
    await screen.findByTestId("smaller-finished");
    expect(prune.mock.calls[0][0]).toMatchObject({ ids: [WEB.id] });
    expect(text("smaller-finished-text")).toContain("web:1.2 names the smaller image (7e7e7e7e7e7e)");
    expect(text("smaller-freed")).toBe("Removed 1 image · 2.00 GB reclaimed");
    // The title names what is left: the result under the name, not the original just removed.
    const title = screen.getByTestId("smaller-view").querySelector(".title")!.textContent!.replace(/\s+/g, " ");
    expect(title).toContain("Made smaller: web:1.2 7e7e7e7e7e7e");
    expect(title).not.toContain(WEB.shortId);
  });

  it("keeps the original when asked, and still ends on the name to use", async () => {
    const prune = vi.fn();
    await openSmaller(backend({ prune_images: prune }));
    await fireEvent.click(screen.getByTestId("smaller-start"));
    await fireEvent.click(await screen.findByTestId("smaller-keep"));
    expect(screen.getByTestId("smaller-finished").textContent).toContain("From now on, use web:1.2");
    expect(screen.getByTestId("smaller-finished").textContent).toContain("The original stays on disk");
    expect(prune).not.toHaveBeenCalled();
  });

  it("asks first when the preflight warns, and says nothing changed when the copy differs", async () => {
    const warned = () => fakePreflight({ tagTakenBy: WEB.id, warnings: ["the squash needs about 2.14 GB and the disk has 1.00 GB free"] });
    const differs = () =>
      fakeOutcome({
        sourceId: WEB.id,
        tag: "web:1.2",
        tagged: false,
        verified: {
          passed: false,
          filesystem: [{ path: "/etc/passwd", what: "content", source: "root:x:0", result: "root:y:0" }],
          config: [],
          allowed: [],
        },
      });
    const run = vi.fn((_args: Record<string, unknown>) => differs());
    await openSmaller(backend({ preflight_squash: warned, run_squash: run }));
    await fireEvent.click(screen.getByTestId("smaller-start"));
    expect((await screen.findByTestId("smaller-confirm")).textContent).toContain("disk has 1.00 GB free");
    expect(run).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId("smaller-confirm-yes"));
    expect((await screen.findByTestId("smaller-mismatch")).textContent).toContain("web:1.2 still names the original");
    expect(run.mock.calls[0][0]).toMatchObject({ options: { overwriteTag: true } });
  });
});
