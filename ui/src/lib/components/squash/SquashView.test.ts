import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import App from "../../../App.svelte";
import type { ImageSummary, IpcError, MethodPick, SquashOutcome, SquashPlan } from "../../ipc";
import {
  AUTO_PICK,
  BUILDER_DIFFERENCES,
  connectedHandlers,
  FAKE_ATTEMPTS,
  fakeImage,
  fakeInfo,
  fakeOutcome,
  fakePlan,
  fakePreflight,
  fakeReport,
  type Handlers,
  mockCommands,
  progressSender,
} from "../../ipc/mockBackend";
import { deferred } from "../../../test/deferred";

const NOW = Math.floor(Date.now() / 1000);

const WEB = fakeImage("5a", ["web:1.2"], { size: 2_100_000_000, created: NOW - 60, layers: 4 });
const LOOSE = fakeImage("c3", [], { size: 50_000_000, created: NOW - 60, layers: 4 });
const IMAGES = [WEB, LOOSE];
const TAKEN = "sha256:" + "ab".repeat(32);

/** A stand-in for Rust's renderer: the env as it would read, and a refusal for a line break. */
function renderEnv(args: Record<string, unknown>): string {
  const plan = args.plan as SquashPlan;
  const broken = plan.env.findIndex((kv) => kv.value.includes("\n"));
  if (broken >= 0) {
    const message = `env ${plan.env[broken].key}: a line break cannot be written on a Dockerfile line`;
    throw { code: "invalidInput", message, attempts: null, setting: { setting: "env", row: broken } };
  }
  const nameless = plan.env.findIndex((kv) => kv.key === "");
  if (nameless >= 0)
    throw { code: "invalidInput", message: "env: a name is empty", attempts: null, setting: { setting: "env", row: nameless } };
  const head = args.stage ? `FROM scratch AS ${String(args.stage)}` : "FROM scratch";
  return [head, ...plan.env.map((kv) => `ENV ${kv.key}=${JSON.stringify(kv.value)}`), `USER ${plan.user}`].join("\n") + "\n";
}

function backend(overrides: Handlers = {}): Handlers {
  return {
    ...connectedHandlers(IMAGES),
    audit_image: () => fakeReport(),
    plan_squash: (args) => fakePlan({ sourceId: args.imageId as string, sourceName: args.name as string }),
    render_squash: renderEnv,
    preflight_squash: () => fakePreflight(),
    run_squash: () => fakeOutcome(),
    cancel_squash: () => null,
    preview_prune: () => ({ images: [], estimatedBytes: 0, keptInUse: 0 }),
    ...overrides,
  };
}

const row = (img: ImageSummary) => screen.getAllByTestId("image-row").find((r) => r.dataset.imageId === img.id)!;
const text = (testId: string) => screen.getByTestId(testId).textContent?.replace(/\s+/g, " ").trim();
/** The progress line without the time so far, which depends on the clock. */
const stageOf = (line: string | undefined) => line?.replace(/ · [^·]+ so far$/, "");
const preview = () => screen.getByTestId("squash-dockerfile-text").textContent;
const runButton = () => screen.getByTestId("squash-run") as HTMLButtonElement;

async function openSquash(handlers: Handlers, img = WEB) {
  mockCommands(handlers);
  render(App);
  await screen.findAllByTestId("image-row");
  await fireEvent.click(within(row(img)).getByTestId("squash-open"));
  await screen.findByTestId("squash-dockerfile-text");
  await waitFor(() => expect(runButton().disabled).toBe(false));
}

async function typeInto(element: HTMLElement, value: string) {
  await fireEvent.input(element, { target: { value } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("squash view", () => {
  it("opens from a row's Squash button with the image's settings and Rust's Dockerfile", async () => {
    const plan = vi.fn((args: Record<string, unknown>) => fakePlan({ sourceId: args.imageId as string }));
    await openSquash(backend({ plan_squash: plan }));

    expect(plan).toHaveBeenCalledWith({ imageId: WEB.id, name: "web:1.2" });
    expect(screen.getByTestId("squash-view").textContent).toContain("Squash web:1.2");
    expect((screen.getByTestId("squash-tag") as HTMLInputElement).value).toBe("web:1.2-squashed");
    const values = screen.getAllByTestId("squash-env-value") as HTMLInputElement[];
    expect(values.map((v) => v.value)).toEqual(["/usr/local/bin:/usr/bin:/bin", "hello $USER"]);
    expect(preview()).toContain('ENV GREETING="hello $USER"');
    expect(screen.getByTestId("squash-move-tag").closest("label")?.textContent).toContain("Also move web:1.2 to the squashed image");
    expect(screen.queryAllByTestId("edited-mark")).toHaveLength(0);
    await waitFor(() => expect(text("squash-method-picked")).toContain("Auto picks the direct method"));
  });

  it("reads the image while the settings are edited, and Squash waits for that read", async () => {
    let finishAudit: (report: unknown) => void = () => {};
    const audit = vi.fn(() => new Promise((resolve) => (finishAudit = resolve)));
    const runSquash = vi.fn(() => fakeOutcome());
    await openSquash(backend({ audit_image: audit, run_squash: runSquash }));
    expect(audit).toHaveBeenCalledWith(expect.objectContaining({ imageId: WEB.id }));

    await fireEvent.click(runButton());
    await waitFor(() => expect(text("squash-start-status")).toContain("First the image is read once"));
    expect(runSquash).not.toHaveBeenCalled();

    finishAudit(fakeReport());
    await waitFor(() => expect(runSquash).toHaveBeenCalledTimes(1));
    expect(await screen.findByTestId("squash-untouched")).toBeTruthy();
  });

  it("names an untagged image by its ID, and offers no tag to move", async () => {
    const plan = vi.fn((args: Record<string, unknown>) => fakePlan({ sourceId: args.imageId as string, sourceName: args.name as string }));
    await openSquash(backend({ plan_squash: plan }), LOOSE);
    expect(plan).toHaveBeenCalledWith({ imageId: LOOSE.id, name: LOOSE.id });
    expect(screen.queryByTestId("squash-move-tag")).toBeNull();
  });

  it("renders each edit, shows the value literally, and marks what changed", async () => {
    const render = vi.fn(renderEnv);
    await openSquash(backend({ render_squash: render }));
    const value = `it's $HOME "q" \\ ü`;
    await typeInto(screen.getAllByTestId("squash-env-value")[1], value);

    await waitFor(() => expect(preview()).toContain(`ENV GREETING=${JSON.stringify(value)}`));
    expect((screen.getAllByTestId("squash-env-value")[1] as HTMLInputElement).value).toBe(value);
    const sent = render.mock.calls.at(-1)![0].plan as SquashPlan;
    expect(sent.env[1]).toEqual({ key: "GREETING", value });
    expect(screen.getAllByTestId("edited-mark")).toHaveLength(1);
    const rows = screen.getAllByTestId("squash-env-row");
    expect(rows[1].classList.contains("changed")).toBe(true);
    expect(rows[0].classList.contains("changed")).toBe(false);

    await fireEvent.click(screen.getByTestId("squash-reset"));
    await waitFor(() => expect(preview()).toContain('ENV GREETING="hello $USER"'));
    expect(screen.queryAllByTestId("edited-mark")).toHaveLength(0);
  });

  it("adds and removes variables", async () => {
    await openSquash(backend());
    await fireEvent.click(screen.getByTestId("squash-env-add"));
    const keys = screen.getAllByTestId("squash-env-key");
    expect(keys).toHaveLength(3);
    await waitFor(() => expect(document.activeElement).toBe(keys[2]));
    await typeInto(keys[2], "MODE");
    await typeInto(screen.getAllByTestId("squash-env-value")[2], "prod");
    await waitFor(() => expect(preview()).toContain('ENV MODE="prod"'));

    await fireEvent.click(screen.getAllByTestId("squash-env-remove")[0]);
    await waitFor(() => expect(preview()).not.toContain("ENV PATH"));
    expect(screen.getByTestId("squash-env").textContent).toContain("1 variable of the image removed");
  });

  it("shows Rust's refusal in place of the preview and holds the Squash button until it is fixed", async () => {
    // An input cannot hold a line break, but an image's variable can: it is shown as it is, in a
    // text area, and Rust is the one to say that a Dockerfile cannot write it.
    const env = [{ key: "GREETING", value: "two\nlines" }];
    mockCommands(backend({ plan_squash: () => fakePlan({ env }) }));
    render(App);
    await screen.findAllByTestId("image-row");
    await fireEvent.click(within(row(WEB)).getByTestId("squash-open"));

    expect(await screen.findByTestId("squash-render-error")).toBeTruthy();
    expect(text("squash-render-error")).toContain("env GREETING: a line break cannot be written on a Dockerfile line");
    expect(screen.queryByTestId("squash-dockerfile-text")).toBeNull();
    expect(runButton().disabled).toBe(true);
    const field = screen.getByTestId("squash-env-value") as HTMLTextAreaElement;
    expect(field.tagName).toBe("TEXTAREA");
    expect(field.value).toBe("two\nlines");

    await typeInto(field, "two lines");
    await waitFor(() => expect(preview()).toContain('ENV GREETING="two lines"'));
    expect(runButton().disabled).toBe(false);
    expect(screen.getByTestId("squash-env-value").tagName).toBe("INPUT");
  });

  it("says a refusal at its field once the field is left, and names the field at the Squash button", async () => {
    await openSquash(backend());
    await fireEvent.click(screen.getByTestId("squash-env-add"));
    const key = screen.getAllByTestId("squash-env-key")[2];
    await waitFor(() => expect(text("squash-start-status")).toBe("Fix the environment first: it is marked above."));
    // Still in the field, with nothing typed yet: not an error yet.
    expect(screen.queryByTestId("field-error")).toBeNull();

    await fireEvent.focusOut(key, { relatedTarget: screen.getByTestId("squash-tag") });
    expect(text("field-error")).toBe("env: a name is empty");
    await fireEvent.focusIn(key);
    expect(screen.queryByTestId("field-error")).toBeNull();
    await typeInto(key, "MODE");
    await waitFor(() => expect(runButton().disabled).toBe(false));
    await fireEvent.focusOut(key, { relatedTarget: null });
    expect(screen.queryByTestId("field-error")).toBeNull();
  });

  it("keeps the Squash button at the window's bottom edge when the window is narrow", async () => {
    const wide = window.innerWidth;
    window.innerWidth = 720;
    try {
      await openSquash(backend());
      expect(within(screen.getByTestId("squash-action-bar")).getByTestId("squash-run")).toBeTruthy();
      expect(screen.getAllByTestId("squash-run")).toHaveLength(1);
    } finally {
      window.innerWidth = wide;
    }
  });

  it("keeps not-set apart from set-to-nothing for the command", async () => {
    const render = vi.fn(renderEnv);
    await openSquash(backend({ render_squash: render }));
    await fireEvent.click(screen.getByTestId("squash-cmd-clear"));
    await waitFor(() => expect((render.mock.calls.at(-1)![0].plan as SquashPlan).cmd).toBeNull());
    expect(screen.getByTestId("squash-cmd-unset").textContent).toContain("Not set");

    await fireEvent.click(screen.getByTestId("squash-cmd-set"));
    await waitFor(() => expect((render.mock.calls.at(-1)![0].plan as SquashPlan).cmd).toEqual([]));
    expect(screen.getByText("Set, with no arguments.")).toBeTruthy();
  });

  it("removes the health check and puts it back", async () => {
    const render = vi.fn(renderEnv);
    await openSquash(backend({ render_squash: render }));
    expect(text("squash-healthcheck")).toContain("wget -q -O- localhost:8080/health every 30s, 3 retries");
    await fireEvent.click(screen.getByTestId("squash-healthcheck-remove"));
    await waitFor(() => expect((render.mock.calls.at(-1)![0].plan as SquashPlan).healthcheck).toBeNull());
    await fireEvent.click(screen.getByTestId("squash-healthcheck-restore"));
    await waitFor(() => expect((render.mock.calls.at(-1)![0].plan as SquashPlan).healthcheck).toEqual(fakePlan().healthcheck));
  });

  it("says what Auto picks and why, from the preflight, and what the multi-stage method picks", async () => {
    const builtBy: MethodPick = {
      method: "buildKit",
      reason: "BuildKit: the image has no device nodes or FIFOs for it to lose, and a tag to copy from",
    };
    const preflight = vi.fn((args: Record<string, unknown>) =>
      fakePreflight({ method: args.method === "multiStage" ? builtBy : AUTO_PICK }),
    );
    await openSquash(backend({ preflight_squash: preflight }));

    const group = screen.getByRole("radiogroup", { name: "How to squash" });
    const radios = within(group).getAllByRole("radio") as HTMLInputElement[];
    expect(radios.map((r) => r.value)).toEqual(["auto", "direct", "multiStage", "classic", "buildKit"]);
    expect(radios.filter((r) => r.checked).map((r) => r.value)).toEqual(["auto"]);
    await waitFor(() => expect(text("squash-method-picked")).toBe(`Auto picks the direct method: ${AUTO_PICK.reason}.`));
    expect(text("squash-dockerfile-unused")).toContain("The direct method does not build this Dockerfile");

    await fireEvent.click(screen.getByTestId("squash-method-multiStage"));
    await waitFor(() =>
      expect(text("squash-method-picked")).toContain("The Dockerfile will be built by BuildKit: BuildKit: the image has no device nodes"),
    );
    expect(preflight).toHaveBeenLastCalledWith(expect.objectContaining({ method: "multiStage" }));
    expect(screen.queryByTestId("squash-dockerfile-unused")).toBeNull();

    await fireEvent.click(screen.getByTestId("squash-method-classic"));
    await waitFor(() => expect(preflight).toHaveBeenLastCalledWith(expect.objectContaining({ method: "classic" })));
    expect(screen.queryByTestId("squash-method-picked")).toBeNull();
  });

  it("keeps the first layers when asked: the audit's saving per k, the suggestion, the hold for a multi-stage method", async () => {
    const base = fakeReport().layers;
    const layers = [{ ...base[0], bytesLostLater: 0 }, ...base.slice(1)];
    const run = vi.fn((args: Record<string, unknown>) =>
      fakeOutcome({ layersAfter: (args.options as { keepLayers: number }).keepLayers + 1 }),
    );
    await openSquash(backend({ audit_image: () => fakeReport({ layers }), run_squash: run }));

    const card = screen.getByTestId("squash-keep");
    expect((within(card).getByTestId("squash-keep-none") as HTMLInputElement).checked).toBe(true);
    await fireEvent.click(within(card).getByTestId("squash-keep-some"));
    const select = (await screen.findByTestId("squash-keep-layer")) as HTMLSelectElement;
    const options = [...select.options].map((o) => o.textContent?.trim());
    expect(options).toEqual([
      "Keep layers…",
      "1: ADD file:4f7bd01a2b in / · saves 1.03 GB (suggested)",
      "1–2: RUN apt-get update && apt-get install -y build-essential py… · saves 28.0 MB",
      "1–3: COPY . /app · saves nothing",
    ]);
    // Suggested, never picked for the user: Squash waits for a k.
    expect(select.value).toBe("0");
    expect(text("squash-keep-suggested")).toContain("the first layer wastes nothing");
    expect(runButton().disabled).toBe(true);
    expect(text("squash-start-status")).toBe("Pick how many layers to keep under Layers.");

    await fireEvent.change(select, { target: { value: "2" } });
    expect(text("squash-keep-saving")).toContain("The first 2 layers stay byte for byte");
    expect(text("squash-keep-saving")).toContain("Squashing the other 2 layers would still save about 28.0 MB.");
    await waitFor(() => expect(runButton().disabled).toBe(false));

    await fireEvent.click(screen.getByTestId("squash-method-classic"));
    expect(text("squash-keep-conflict")).toContain("Only the direct method keeps layers");
    expect(runButton().disabled).toBe(true);
    await fireEvent.click(screen.getByTestId("squash-method-auto"));
    expect(screen.queryByTestId("squash-keep-conflict")).toBeNull();
    await waitFor(() => expect(runButton().disabled).toBe(false));

    await fireEvent.click(runButton());
    await waitFor(() => expect(run).toHaveBeenCalledTimes(1));
    expect(run.mock.calls[0][0]).toMatchObject({ options: { method: "auto", keepLayers: 2 } });
    expect(await screen.findByTestId("squash-verified")).toBeTruthy();
    expect(text("squash-layers")).toBe(
      "4 layers → 3 layers (2 layers kept, 1 squashed on top) · made by the direct method in 3.1 s · verified in 0.4 s",
    );
  });

  it("says the saving shows once the image is read, while it is being read", async () => {
    await openSquash(backend({ audit_image: () => new Promise(() => {}) }));
    await fireEvent.click(screen.getByTestId("squash-keep-some"));
    const select = (await screen.findByTestId("squash-keep-layer")) as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent?.trim())).toEqual(["Keep layers…", "1", "1–2", "1–3"]);
    await fireEvent.change(select, { target: { value: "1" } });
    expect(text("squash-keep-saving")).toContain("The saving shows once the image has been read.");
    expect(screen.queryByTestId("squash-keep-suggested")).toBeNull();
  });

  it("squashes by the direct method when it is chosen, saying its stages in plain words", async () => {
    const answer = deferred<SquashOutcome>();
    let send: ReturnType<typeof progressSender> = () => {};
    const run = vi.fn((args: Record<string, unknown>) => {
      send = progressSender(args);
      return answer.promise;
    });
    const chosen: MethodPick = { method: "direct", reason: "chosen" };
    const preflight = vi.fn((args: Record<string, unknown>) => fakePreflight({ method: args.method === "direct" ? chosen : AUTO_PICK }));
    await openSquash(backend({ run_squash: run, preflight_squash: preflight }));
    await fireEvent.click(screen.getByTestId("squash-method-direct"));
    await waitFor(() => expect(preflight).toHaveBeenLastCalledWith(expect.objectContaining({ method: "direct" })));
    expect(screen.queryByTestId("squash-method-picked")).toBeNull();
    await waitFor(() => expect(screen.queryByTestId("squash-dockerfile-unused")).toBeTruthy());

    await fireEvent.click(runButton());
    await waitFor(() => expect(run).toHaveBeenCalledTimes(1));
    expect(run.mock.calls[0][0]).toMatchObject({ options: { method: "direct" } });
    send({ stage: "reading source", done: 700_000_000, total: 2_100_000_000 });
    await waitFor(() => expect(stageOf(text("squash-progress-text"))).toBe("Reading the image 700 MB of about 2.10 GB"));
    send({ stage: "squashing", done: 1_050_000_000, total: 2_100_000_000 });
    await waitFor(() =>
      expect(stageOf(text("squash-progress-text"))).toBe(
        "Writing the squashed layer and loading it into Docker — read 1.05 GB of about 2.10 GB",
      ),
    );
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("50");
    send({ stage: "tagging", done: 0, total: null });
    await waitFor(() => expect(stageOf(text("squash-progress-text"))).toBe("Verified — giving the squashed image its name"));

    answer.resolve(fakeOutcome());
    expect(await screen.findByTestId("squash-verified")).toBeTruthy();
    expect(text("squash-layers")).toBe("4 layers → 1 layer · made by the direct method in 3.1 s · verified in 0.4 s");
    expect(screen.queryByTestId("squash-known")).toBeNull();
  });

  it("asks before moving a taken tag, then shows progress in plain words and the verified result", async () => {
    const answer = deferred<SquashOutcome>();
    const run = vi.fn((args: Record<string, unknown>) => {
      const send = progressSender(args);
      send({ stage: "building", done: 2, total: 3 });
      send({ stage: "verifying source", done: 1_200_000_000, total: 2_100_000_000 });
      return answer.promise;
    });
    await openSquash(backend({ run_squash: run, preflight_squash: () => fakePreflight({ tagTakenBy: TAKEN }) }));
    await waitFor(() => expect(text("squash-tag-taken")).toContain("already names image abababababab"));
    await fireEvent.click(screen.getByTestId("squash-move-tag"));
    await fireEvent.click(screen.getByTestId("squash-method-classic"));
    await fireEvent.click(runButton());

    expect(await screen.findByTestId("squash-confirm-text")).toBeTruthy();
    expect(text("squash-confirm-text")).toBe(
      "web:1.2-squashed already names image abababababab. Squashing moves the tag to the squashed image; that image stays, by ID.",
    );
    await fireEvent.click(screen.getByTestId("squash-confirm-yes"));
    expect(run.mock.calls[0][0]).toMatchObject({ options: { method: "classic", overwriteTag: true, moveSourceTag: true } });
    await waitFor(() =>
      expect(stageOf(text("squash-progress-text"))).toBe("Verifying — reading the original image 1.20 GB of about 2.10 GB"),
    );
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("57");

    answer.resolve(
      fakeOutcome({
        movedTag: "web:1.2",
        method: "classic",
        knownDifferences: BUILDER_DIFFERENCES,
        buildSeconds: 12.5,
        verifySeconds: 8.1,
      }),
    );
    expect(await screen.findByTestId("squash-verified")).toBeTruthy();
    expect(text("squash-verified")).toContain("Verified: same files, same settings");
    expect(text("squash-sizes")).toBe("2.10 GB → 1.07 GB, 49% smaller");
    expect(text("squash-layers")).toBe("4 layers → 1 layer · made by the classic builder in 13 s · verified in 8.1 s");
    expect(text("squash-tagged")).toContain("web:1.2-squashed");
    expect(text("squash-moved-tag")).toContain("web:1.2 now names the squashed image too");
    expect(screen.queryByTestId("squash-untouched")).toBeNull();
    expect(screen.getAllByTestId("squash-known-item")[0].textContent).toContain("Env: PATH moves");
    expect(screen.queryByTestId("squash-left-behind")).toBeNull();
  });

  it("runs nothing when the taken tag should stay", async () => {
    const run = vi.fn(() => fakeOutcome());
    await openSquash(
      backend({ run_squash: run, preflight_squash: () => fakePreflight({ tagTakenBy: TAKEN, warnings: ["the disk has 1 GB free"] }) }),
    );
    await fireEvent.click(runButton());
    expect(await screen.findByTestId("squash-warning")).toBeTruthy();
    expect(text("squash-warning")).toBe("Note: the disk has 1 GB free.");
    await fireEvent.click(screen.getByTestId("squash-confirm-no"));
    expect(screen.queryByTestId("squash-confirm")).toBeNull();
    expect(run).not.toHaveBeenCalled();
  });

  it("shows what differs when the result does not verify, and that nothing was tagged", async () => {
    const outcome = fakeOutcome({
      tagged: false,
      verified: {
        passed: false,
        filesystem: [{ path: "/dev/null", what: "type", source: "character device", result: "regular file" }],
        config: [{ field: "User", planned: "app", result: "" }],
        allowed: [],
      },
    });
    await openSquash(backend({ run_squash: () => outcome }));
    await fireEvent.click(runButton());

    expect(await screen.findByTestId("squash-not-verified")).toBeTruthy();
    expect(text("squash-untagged")).toContain("it was removed and no tag was given");
    const file = screen.getByTestId("squash-file-difference");
    expect(file.textContent?.replace(/\s+/g, " ")).toBe("/dev/nulla different kind of filecharacter deviceregular file");
    expect(screen.getByTestId("squash-config-difference").textContent).toContain("User");
    expect(screen.queryByTestId("squash-audit-result")).toBeNull();
  });

  it("says what the check allowed: an engine's spelling, the seconds a builder keeps", async () => {
    const outcome = fakeOutcome({
      verified: {
        passed: true,
        filesystem: [],
        config: [],
        allowed: [
          {
            field: "mtime",
            what: "mtimeFraction",
            note: "The classic builder keeps modification times to the second: 312 entries lost a fraction of a second (the first: /etc 1700000001.25 → 1700000001)",
          },
          { field: "Cmd", what: "emptyForUnset", note: "Podman Engine stored an unset Cmd as [] — same meaning" },
        ],
      },
    });
    await openSquash(backend({ run_squash: () => outcome }));
    await fireEvent.click(runButton());

    expect(await screen.findByTestId("squash-verified")).toBeTruthy();
    const notes = screen.getAllByTestId("squash-allowed-item").map((item) => item.textContent);
    expect(notes).toEqual([
      "The classic builder keeps modification times to the second: 312 entries lost a fraction of a second (the first: /etc 1700000001.25 → 1700000001)",
      "Podman Engine stored an unset Cmd as [] — same meaning",
    ]);
  });

  it("shows no allowed differences when there are none", async () => {
    await openSquash(backend({ run_squash: () => fakeOutcome() }));
    await fireEvent.click(runButton());
    expect(await screen.findByTestId("squash-verified")).toBeTruthy();
    expect(screen.queryByTestId("squash-allowed")).toBeNull();
  });

  it("offers to remove the image its tag left without a name, and removes exactly it", async () => {
    const left = "sha256:" + "d1".repeat(32);
    const prune = vi.fn((_args: Record<string, unknown>) => ({ imagesDeleted: [left], spaceReclaimed: 12_300_000, skipped: [] }));
    await openSquash(
      backend({
        run_squash: () => fakeOutcome({ leftBehind: [left], movedTag: "web:1.2" }),
        preview_prune: () => ({
          images: [{ id: left, shortId: "d1d1d1d1d1d1", created: NOW, size: 30_000_000, uniqueSize: 12_300_000, leftBy: "web:1.2" }],
          estimatedBytes: 12_300_000,
          keptInUse: 0,
        }),
        prune_images: prune,
      }),
    );
    await fireEvent.click(runButton());
    await waitFor(() =>
      expect(text("squash-left-text")).toBe("This squash left 1 image without a name (d1d1d1d1d1d1, 12.3 MB). Remove it?"),
    );

    await fireEvent.click(screen.getByTestId("squash-left-remove"));
    expect(prune).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId("squash-left-confirm-yes"));
    await waitFor(() => expect(text("squash-left-result")).toBe("Removed 1 image · 12.3 MB reclaimed"));
    expect(prune.mock.calls[0][0]).toMatchObject({ ids: [left] });
  });

  it("cancels a running squash and says nothing was kept", async () => {
    let stop!: () => void;
    const cancel = vi.fn(() => {
      stop();
      return null;
    });
    const run = vi.fn(
      () =>
        new Promise<SquashOutcome>((_, reject) => {
          stop = () => reject({ code: "cancelled", message: "the squash was cancelled", attempts: null } satisfies IpcError);
        }),
    );
    await openSquash(backend({ run_squash: run, cancel_squash: cancel }));
    await fireEvent.click(runButton());
    expect(await screen.findByTestId("squash-progress-text")).toBeTruthy();
    expect(stageOf(text("squash-progress-text"))).toBe("Starting…");
    await fireEvent.click(screen.getByTestId("squash-cancel"));

    expect(await screen.findByTestId("squash-cancelled")).toBeTruthy();
    expect(text("squash-cancelled-text")).toBe("Cancelled. Nothing was tagged; what the squash made was removed.");
    expect(cancel).toHaveBeenCalledTimes(1);
    await fireEvent.click(screen.getByTestId("squash-back-to-settings"));
    expect(screen.getByTestId("squash-dockerfile-text")).toBeTruthy();
  });

  it("says a failure plainly, with the daemon's message", async () => {
    await openSquash(
      backend({
        run_squash: () => {
          throw { code: "buildFailed", message: "COPY failed: no source files were specified", attempts: null } satisfies IpcError;
        },
      }),
    );
    await fireEvent.click(runButton());
    expect(await screen.findByTestId("squash-error")).toBeTruthy();
    expect(screen.getByTestId("squash-error").textContent).toContain("The build failed");
    expect(text("squash-error-message")).toBe("COPY failed: no source files were specified");
  });

  it("goes on while the list shows, and leads back to it", async () => {
    const answer = deferred<SquashOutcome>();
    await openSquash(
      backend({
        run_squash: (args) => {
          progressSender(args)({ stage: "building", done: 1, total: 3 });
          return answer.promise;
        },
      }),
    );
    await fireEvent.click(runButton());
    await waitFor(() => expect(stageOf(text("squash-progress-text"))).toBe("Building — step 1 of 3"));
    expect(text("squash-progress-text")).toMatch(/^Building — step 1 of 3 · \d+\.\d s so far$/);
    await fireEvent.click(screen.getByTestId("squash-back"));

    expect(screen.getByTestId("image-table")).toBeTruthy();
    expect(text("squash-banner-text")).toBe("Squashing web:1.2: Building — step 1 of 3");
    answer.resolve(fakeOutcome());
    await waitFor(() => expect(text("squash-banner-text")).toBe("The squash of web:1.2 is done and verified."));
    await fireEvent.click(screen.getByTestId("squash-banner-show"));
    expect(screen.getByTestId("squash-verified")).toBeTruthy();

    await fireEvent.keyDown(window, { key: "Escape" });
    expect(screen.queryByTestId("squash-banner")).toBeNull();
    // Seen: the next squash of the image starts from its settings again.
    await fireEvent.click(within(row(WEB)).getByTestId("squash-open"));
    expect(await screen.findByTestId("squash-dockerfile-text")).toBeTruthy();
  });

  it("opens the squashed image's audit from the result", async () => {
    const audit = vi.fn(() => fakeReport());
    await openSquash(backend({ audit_image: audit }));
    await fireEvent.click(runButton());
    expect(await screen.findByTestId("squash-untouched")).toBeTruthy();
    expect(text("squash-untouched")).toBe("The original, web:1.2, is untouched.");
    await fireEvent.click(screen.getByTestId("squash-audit-result"));
    expect(screen.getByTestId("audit-view").textContent).toContain("Audit of web:1.2-squashed");
    expect(audit).toHaveBeenCalledWith(expect.objectContaining({ imageId: fakeOutcome().resultId }));
  });

  it("goes to the no-daemon screen when the daemon goes away mid-squash", async () => {
    const connect = vi.fn<() => unknown>(() => fakeInfo());
    await openSquash(
      backend({
        connect,
        run_squash: () => {
          connect.mockImplementation(() => Promise.reject({ code: "daemonUnavailable", message: "gone", attempts: FAKE_ATTEMPTS }));
          throw { code: "stream", message: "the connection to the daemon broke", attempts: null } satisfies IpcError;
        },
      }),
    );
    await fireEvent.click(runButton());
    expect(await screen.findByTestId("no-daemon")).toBeTruthy();
  });

  it("copies the Dockerfile and the stage, or selects the text when the clipboard is refused", async () => {
    const writeText = vi.fn((_text: string) => Promise.resolve());
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    const render = vi.fn(renderEnv);
    await openSquash(backend({ render_squash: render }));

    await fireEvent.click(screen.getByTestId("squash-copy"));
    await waitFor(() => expect(text("squash-copy-status")).toBe("Copied the Dockerfile."));
    expect(writeText).toHaveBeenLastCalledWith(preview());

    await fireEvent.click(screen.getByTestId("squash-copy-stage"));
    await waitFor(() => expect(text("squash-copy-status")).toBe("Copied the stage."));
    expect(render).toHaveBeenLastCalledWith(expect.objectContaining({ stage: "squashed" }));
    expect(writeText.mock.calls.at(-1)![0]).toMatch(/^FROM scratch AS squashed\n/);

    writeText.mockImplementation(() => Promise.reject(new Error("not allowed")));
    await fireEvent.click(screen.getByTestId("squash-copy-stage"));
    await waitFor(() => expect(text("squash-copy-status")).toContain("press Ctrl+C"));
    const fallback = screen.getByTestId("squash-copy-fallback") as HTMLTextAreaElement;
    expect(fallback.value).toMatch(/^FROM scratch AS squashed\n/);
    await waitFor(() => expect(document.activeElement).toBe(fallback));
    expect(fallback.selectionEnd - fallback.selectionStart).toBe(fallback.value.length);
  });
});
