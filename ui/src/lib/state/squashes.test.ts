import { describe, expect, it, vi } from "vitest";
import type { IpcError, MethodPick, SquashOutcome, SquashPlan } from "../ipc";
import { fakeImages, fakeOutcome, fakePlan, fakePreflight, type Handlers, mockCommands } from "../ipc/mockBackend";
import { RENDER_DEBOUNCE_MS } from "../squash";
import { Audits } from "./audits.svelte";
import { Squashes, type SquashJob } from "./squashes.svelte";
import { deferred } from "../../test/deferred";

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const [IMAGE, OTHER] = fakeImages(2);

function backend(overrides: Handlers = {}): Handlers {
  return {
    plan_squash: () => fakePlan(),
    render_squash: (args) => `ENV ${JSON.stringify((args.plan as SquashPlan).env)}\n`,
    preflight_squash: () => fakePreflight(),
    run_squash: () => fakeOutcome(),
    cancel_squash: () => null,
    preview_prune: () => ({ images: [], estimatedBytes: 0, keptInUse: 0 }),
    ...overrides,
  };
}

/** Opens the image's squash and waits for the plan and its first render. */
async function opened(squashes: Squashes, image = IMAGE): Promise<SquashJob> {
  squashes.open(image);
  const job = squashes.current!;
  await vi.waitFor(() => expect(job.dockerfile).not.toBeNull());
  return job;
}

describe("SquashJob", () => {
  it("loads the plan by the image's first tag and renders it at once", async () => {
    const plan = vi.fn(() => fakePlan());
    mockCommands(backend({ plan_squash: plan }));
    const job = await opened(new Squashes());
    expect(plan).toHaveBeenCalledWith({ imageId: IMAGE.id, name: IMAGE.tags[0] });
    expect(job.phase).toBe("editing");
    expect(job.dockerfile).toContain("GREETING");
    expect(job.changed.size).toBe(0);
    expect(job.canStart).toBe(true);
  });

  it("renders once per pause in the typing, the last plan, and ignores an older answer", async () => {
    const render = vi.fn((args: Record<string, unknown>): string | Promise<string> => `USER ${(args.plan as SquashPlan).user}\n`);
    mockCommands(backend({ render_squash: render }));
    const job = await opened(new Squashes());
    render.mockClear();

    vi.useFakeTimers();
    for (const user of ["r", "ro", "roo", "root"]) {
      job.plan!.user = user;
      job.edited();
      expect(job.rendering).toBe(true);
      expect(job.canStart).toBe(false);
      await vi.advanceTimersByTimeAsync(RENDER_DEBOUNCE_MS - 10);
    }
    expect(render).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(20);
    expect(render).toHaveBeenCalledTimes(1);
    expect((render.mock.calls[0][0].plan as SquashPlan).user).toBe("root");
    expect(render.mock.calls[0][0].stage).toBeNull();
    vi.useRealTimers();
    await vi.waitFor(() => expect(job.dockerfile).toBe("USER root\n"));
    expect(job.rendering).toBe(false);
    expect([...job.changed]).toEqual(["user"]);

    // A slow answer for an older plan lands after the newer one: the newer stays.
    const slow = deferred<string>();
    render.mockImplementationOnce(() => slow.promise);
    job.plan!.user = "app2";
    job.edited();
    await vi.waitFor(() => expect(render).toHaveBeenCalledTimes(2));
    job.plan!.user = "app3";
    job.edited();
    await vi.waitFor(() => expect(job.dockerfile).toBe("USER app3\n"));
    slow.resolve("USER app2\n");
    await settle();
    expect(job.dockerfile).toBe("USER app3\n");
  });

  it("keeps Rust's refusal as the message to show, and nothing to squash", async () => {
    const render = vi.fn((args: Record<string, unknown>) => {
      const plan = args.plan as SquashPlan;
      if (plan.workingDir === "srv") {
        throw {
          code: "invalidInput",
          message: 'working directory "srv" must be absolute (start with /)',
          attempts: null,
        } satisfies IpcError;
      }
      return "FROM scratch\n";
    });
    mockCommands(backend({ render_squash: render }));
    const job = await opened(new Squashes());
    job.plan!.workingDir = "srv";
    job.edited();
    await vi.waitFor(() => expect(job.renderError).toBe('working directory "srv" must be absolute (start with /)'));
    expect(job.dockerfile).toBeNull();
    expect(job.canStart).toBe(false);

    job.reset();
    job.edited();
    await vi.waitFor(() => expect(job.canStart).toBe(true));
    expect(job.plan).toEqual(fakePlan());
  });

  it("asks the preflight again only when the tag or the method changes", async () => {
    const preflight = vi.fn((_args: Record<string, unknown>) => fakePreflight());
    mockCommands(backend({ preflight_squash: preflight }));
    const job = await opened(new Squashes());
    await vi.waitFor(() => expect(preflight).toHaveBeenCalledTimes(1));
    expect(preflight.mock.calls[0][0]).toMatchObject({ method: "auto", plan: { tag: "web:1.2-squashed" } });

    job.plan!.user = "root";
    job.edited();
    await vi.waitFor(() => expect(job.plan!.user).toBe("root"));
    await vi.waitFor(() => expect(job.rendering).toBe(false));
    expect(preflight).toHaveBeenCalledTimes(1);

    job.setMethod("buildKit");
    await vi.waitFor(() => expect(preflight).toHaveBeenCalledTimes(2));
    expect(preflight.mock.calls[1][0]).toMatchObject({ method: "buildKit" });
    job.plan!.tag = "web:slim";
    job.edited();
    await vi.waitFor(() => expect(preflight).toHaveBeenCalledTimes(3));
  });

  it("shows a pick only from the preflight that answered for the method chosen now", async () => {
    const multiStage = deferred<unknown>();
    const preflight = vi.fn((args: Record<string, unknown>) => (args.method === "multiStage" ? multiStage.promise : fakePreflight()));
    mockCommands(backend({ preflight_squash: preflight }));
    const job = await opened(new Squashes());
    await vi.waitFor(() => expect(job.pick).toEqual(fakePreflight().method));

    job.setMethod("multiStage");
    expect(job.pick).toBeNull();
    const builtBy: MethodPick = { method: "classic", reason: "the classic builder: the image was not read yet" };
    multiStage.resolve(fakePreflight({ method: builtBy }));
    await vi.waitFor(() => expect(job.pick).toEqual(builtBy));
  });

  it("closes an open confirm when the method changes: its warnings were for the other", async () => {
    mockCommands(backend({ preflight_squash: () => fakePreflight({ warnings: ["the disk has 1 GB free"] }) }));
    const job = await opened(new Squashes());
    await job.start();
    expect(job.startStep).toBe("confirm");
    job.setMethod("classic");
    expect(job.startStep).toBe("idle");
  });

  it("runs at once when the preflight has nothing to ask, with the options chosen", async () => {
    const run = vi.fn(() => fakeOutcome());
    mockCommands(backend({ run_squash: run }));
    const job = await opened(new Squashes());
    job.moveSourceTag = true;
    job.setMethod("classic");
    await job.start();
    expect(run).toHaveBeenCalledWith({
      plan: fakePlan(),
      options: { method: "classic", overwriteTag: false, moveSourceTag: true, keepLayers: 0 },
      onProgress: expect.anything(),
    });
    expect(job.phase).toBe("done");
    expect(job.outcome?.verified.passed).toBe(true);
  });

  it("sends the layers to keep, once a k is picked", async () => {
    const run = vi.fn(() => fakeOutcome({ layersAfter: 3 }));
    mockCommands(backend({ run_squash: run }));
    const job = await opened(new Squashes());
    job.keeping = true;
    expect(job.keepHold).toBe("Pick how many layers to keep under Layers.");
    expect(job.canStart).toBe(false);
    job.keepCount = 2;
    expect(job.canStart).toBe(true);
    await job.start();
    expect(run).toHaveBeenCalledWith(expect.objectContaining({ options: expect.objectContaining({ method: "auto", keepLayers: 2 }) }));
  });

  it("holds Squash while a multi-stage method is chosen with layers kept, and sends 0 once every layer is squashed", async () => {
    const run = vi.fn(() => fakeOutcome());
    mockCommands(backend({ run_squash: run }));
    const job = await opened(new Squashes());
    job.keeping = true;
    job.keepCount = 1;
    job.setMethod("multiStage");
    expect(job.keepHold).toContain("Only the direct method keeps layers");
    expect(job.canStart).toBe(false);
    await job.start();
    expect(run).not.toHaveBeenCalled();

    job.keeping = false;
    expect(job.keepHold).toBeNull();
    expect(job.canStart).toBe(true);
    await job.start();
    expect(run).toHaveBeenCalledWith(
      expect.objectContaining({ options: expect.objectContaining({ method: "multiStage", keepLayers: 0 }) }),
    );
  });

  it("asks before moving a taken tag, runs with overwriteTag after a yes, and not at all after a no", async () => {
    const taken = "sha256:" + "ab".repeat(32);
    const run = vi.fn((_args: Record<string, unknown>) => fakeOutcome());
    mockCommands(backend({ run_squash: run, preflight_squash: () => fakePreflight({ tagTakenBy: taken }) }));
    const job = await opened(new Squashes());
    await job.start();
    expect(job.startStep).toBe("confirm");
    job.declineStart();
    expect(job.startStep).toBe("idle");
    expect(run).not.toHaveBeenCalled();

    await job.start();
    await job.confirmStart();
    expect(run.mock.calls[0][0]).toMatchObject({ options: { overwriteTag: true, moveSourceTag: false } });
  });

  it("closes the confirm when the plan is edited under it", async () => {
    mockCommands(backend({ preflight_squash: () => fakePreflight({ warnings: ["the disk is nearly full"] }) }));
    const job = await opened(new Squashes());
    await job.start();
    expect(job.startStep).toBe("confirm");
    job.plan!.tag = "web:other";
    job.edited();
    expect(job.startStep).toBe("idle");
  });

  it("ends cancelled after a cancel, and the settings are still there", async () => {
    let stop!: () => void;
    const run = vi.fn(
      () =>
        new Promise<SquashOutcome>((_, reject) => {
          stop = () => reject({ code: "cancelled", message: "cancelled", attempts: null } satisfies IpcError);
        }),
    );
    const cancel = vi.fn(() => {
      stop();
      return null;
    });
    mockCommands(backend({ run_squash: run, cancel_squash: cancel }));
    const job = await opened(new Squashes());
    job.plan!.user = "root";
    const started = job.start();
    await vi.waitFor(() => expect(job.phase).toBe("running"));
    await job.cancel();
    await started;
    expect(cancel).toHaveBeenCalledTimes(1);
    expect(job.phase).toBe("cancelled");
    job.backToSettings();
    expect(job.phase).toBe("editing");
    expect(job.plan!.user).toBe("root");
  });

  it("offers to remove what the squash left, with the preview's sizes, and removes exactly that", async () => {
    const left = "sha256:" + "d1".repeat(32);
    const prune = vi.fn((_args: Record<string, unknown>) => ({ imagesDeleted: [left], spaceReclaimed: 12_300_000, skipped: [] }));
    mockCommands(
      backend({
        run_squash: () => fakeOutcome({ leftBehind: [left], movedTag: "web:1.2" }),
        preview_prune: () => ({
          images: [
            {
              id: left,
              shortId: "d1d1d1d1d1d1",
              created: 0,
              size: 20_000_000,
              engineSize: 20_000_000,
              uniqueSize: 12_300_000,
              leftBy: "web:1.2",
            },
          ],
          estimatedBytes: 12_300_000,
          keptInUse: 0,
        }),
        prune_images: prune,
      }),
    );
    const job = await opened(new Squashes());
    await job.start();
    const leftBehind = job.leftBehind!;
    await vi.waitFor(() => expect(leftBehind.candidates).toHaveLength(1));
    leftBehind.ask();
    await leftBehind.remove();
    expect(prune.mock.calls[0][0]).toMatchObject({ ids: [left] });
    expect(leftBehind.step).toBe("done");
    expect(leftBehind.removed).toBe(1);
  });
});

describe("Squashes", () => {
  it("keeps a job across closing and opening, and starts afresh once its end was seen", async () => {
    const plan = vi.fn(() => fakePlan());
    mockCommands(backend({ plan_squash: plan }));
    const squashes = new Squashes();
    const job = await opened(squashes);
    job.plan!.user = "edited";
    squashes.close();
    squashes.open(IMAGE);
    expect(squashes.current).toBe(job);
    expect(job.plan!.user).toBe("edited");

    await job.start();
    squashes.close();
    squashes.open(IMAGE);
    expect(squashes.current).not.toBe(job);
    expect(plan).toHaveBeenCalledTimes(2);
  });

  it("points the list at a squash running, then at its unseen end", async () => {
    const answer = deferred<SquashOutcome>();
    mockCommands(backend({ run_squash: () => answer.promise }));
    const squashes = new Squashes();
    const job = await opened(squashes);
    void job.start();
    await vi.waitFor(() => expect(job.phase).toBe("running"));
    expect(squashes.background).toBeNull();
    squashes.close();
    expect(squashes.background).toBe(job);
    expect(squashes.running).toBe(job);

    // Another image's squash waits for it.
    await opened(squashes, OTHER);
    expect(squashes.running).toBe(job);
    squashes.close();

    answer.resolve(fakeOutcome());
    await vi.waitFor(() => expect(job.phase).toBe("done"));
    expect(squashes.running).toBeNull();
    expect(squashes.background).toBe(job);
    squashes.open(IMAGE);
    expect(squashes.current).toBe(job);
    squashes.close();
    expect(squashes.background).toBeNull();
  });

  it("hands a lost daemon to its owner, closes the view and forgets the job", async () => {
    const lost: IpcError = { code: "stream", message: "the daemon went away", attempts: null };
    mockCommands(
      backend({
        run_squash: () => {
          throw lost;
        },
      }),
    );
    const onConnectionLost = vi.fn();
    const squashes = new Squashes({ onConnectionLost });
    const job = await opened(squashes);
    await job.start();
    expect(onConnectionLost).toHaveBeenCalledWith(lost);
    expect(squashes.image).toBeNull();
    expect(squashes.background).toBeNull();
  });
});

describe("the read of the image beside the editor", () => {
  it("starts with the plan, and Skip stops it so the squash goes ahead without it", async () => {
    const audit = deferred<unknown>();
    const auditImage = vi.fn(() => audit.promise);
    const cancelAudit = vi.fn(() => {
      audit.reject({ code: "cancelled", message: "cancelled", attempts: null });
      return null;
    });
    const runSquash = vi.fn(() => fakeOutcome());
    mockCommands(backend({ audit_image: auditImage, cancel_audit: cancelAudit, run_squash: runSquash }));
    const job = await opened(new Squashes({}, new Audits()));
    expect(auditImage).toHaveBeenCalledWith(expect.objectContaining({ imageId: IMAGE.id }));
    expect(job.sourceAudit?.phase).toBe("running");

    const started = job.start();
    await settle();
    expect(job.startStep).toBe("auditing");
    expect(runSquash).not.toHaveBeenCalled();

    await job.skipAudit();
    await started;
    expect(cancelAudit).toHaveBeenCalled();
    expect(job.sourceAudit?.phase).toBe("cancelled");
    expect(runSquash).toHaveBeenCalledTimes(1);
    expect(job.phase).toBe("done");
  });
});
