import { describe, expect, it, vi } from "vitest";
import * as ipc from "./index";
import type { Progress } from "./index";
import { fakeInfo, fakeOutcome, fakePlan, fakePreflight, fakeReport, mockCommands, progressSender, unavailable } from "./mockBackend";

describe("toIpcError", () => {
  it("keeps an IpcError as it is", () => {
    const err = unavailable();
    expect(ipc.toIpcError(err)).toEqual(err);
  });

  it("keeps the setting a refusal is about", () => {
    const err = { code: "invalidInput", message: "env: a name is empty", attempts: null, setting: { setting: "env", row: 2 } };
    expect(ipc.toIpcError(err)).toEqual(err);
  });

  it("fills in missing attempts", () => {
    expect(ipc.toIpcError({ code: "io", message: "disk full" })).toEqual({
      code: "io",
      message: "disk full",
      attempts: null,
    });
  });

  it("turns Tauri's own string errors into a generic daemon error, never daemonUnavailable", () => {
    expect(ipc.toIpcError("Command nope not found")).toEqual({
      code: "daemon",
      message: "Command nope not found",
      attempts: null,
    });
  });

  it("keeps every code the Rust side sends, the audit's included", () => {
    expect(ipc.toIpcError({ code: "malformedArchive", message: "bad tar", attempts: null }).code).toBe("malformedArchive");
    expect(ipc.toIpcError({ code: "cancelled", message: "stopped", attempts: null }).code).toBe("cancelled");
  });

  it("turns JavaScript errors and odd values into a generic error with a message", () => {
    expect(ipc.toIpcError(new TypeError("invoke is undefined")).message).toBe("invoke is undefined");
    expect(ipc.toIpcError({ code: "weird", message: "x" }).code).toBe("daemon");
    expect(ipc.toIpcError(undefined).message).not.toBe("");
  });
});

describe("wrappers", () => {
  it("call the command by its Rust name with camel-cased args", async () => {
    const setHost = vi.fn(() => fakeInfo());
    mockCommands({ set_docker_host: setHost, images_disk_bytes: () => 42 });
    await expect(ipc.setDockerHost("tcp://127.0.0.1:2375")).resolves.toMatchObject({ product: "Docker Engine" });
    expect(setHost).toHaveBeenCalledWith({ host: "tcp://127.0.0.1:2375" });
    await expect(ipc.imagesDiskBytes()).resolves.toBe(42);
  });

  it("reject with a normalised IpcError", async () => {
    mockCommands({
      connect: () => {
        throw unavailable();
      },
    });
    await expect(ipc.connect()).rejects.toMatchObject({ code: "daemonUnavailable" });
    // list_images has no handler: Tauri would reject with a string.
    await expect(ipc.listImages()).rejects.toEqual({
      code: "daemon",
      message: "Command list_images not found",
      attempts: null,
    });
  });

  it("send prune_images exactly the IDs given, with progress on its channel", async () => {
    const prune = vi.fn((args: Record<string, unknown>) => {
      progressSender(args)({ stage: "removing", done: 0, total: 2 });
      return { imagesDeleted: args.ids, spaceReclaimed: 7, skipped: [] };
    });
    mockCommands({ prune_images: prune, preview_prune: () => ({ images: [], estimatedBytes: 0, keptInUse: 0 }) });
    const heard: Progress[] = [];
    const result = await ipc.pruneImages(["sha256:a", "sha256:b"], (p) => heard.push(p));
    expect(prune.mock.calls[0][0].ids).toEqual(["sha256:a", "sha256:b"]);
    expect(result).toEqual({ imagesDeleted: ["sha256:a", "sha256:b"], spaceReclaimed: 7, skipped: [] });
    expect(heard).toEqual([{ stage: "removing", done: 0, total: 2 }]);
    await expect(ipc.previewPrune()).resolves.toMatchObject({ keptInUse: 0 });
    await expect(ipc.diskUsage()).rejects.toMatchObject({ code: "daemon", message: "Command disk_usage not found" });
  });

  it("hand audit progress from the channel to the callback, then the report", async () => {
    mockCommands({
      audit_image: (args) => {
        const send = progressSender(args);
        send({ stage: "reading", done: 1, total: 4 });
        send({ stage: "reading", done: 4, total: 4 });
        return fakeReport();
      },
    });
    const heard: Progress[] = [];
    const report = await ipc.auditImage("sha256:ab", (p) => heard.push(p));
    expect(report.layerBytes).toBe(2_100_000_000);
    expect(heard).toEqual([
      { stage: "reading", done: 1, total: 4 },
      { stage: "reading", done: 4, total: 4 },
    ]);
  });

  it("pass the audit commands their camel-cased args", async () => {
    const audit = vi.fn(() => fakeReport());
    const cancel = vi.fn(() => null);
    const save = vi.fn(() => "/home/me/Downloads/app-audit.json");
    mockCommands({ audit_image: audit, cancel_audit: cancel, export_audit: save });
    await ipc.auditImage("sha256:ab", () => {});
    expect(audit).toHaveBeenCalledWith({ imageId: "sha256:ab", onProgress: expect.objectContaining({ id: expect.any(Number) }) });
    await expect(ipc.cancelAudit("sha256:ab")).resolves.toBeUndefined();
    expect(cancel).toHaveBeenCalledWith({ imageId: "sha256:ab" });
    await expect(ipc.exportAudit("sha256:ab", "app:1", "json")).resolves.toBe("/home/me/Downloads/app-audit.json");
    expect(save).toHaveBeenCalledWith({ imageId: "sha256:ab", imageName: "app:1", format: "json" });
  });

  it("pass the squash commands their camel-cased args, and progress on run_squash's channel", async () => {
    const plan = vi.fn(() => fakePlan());
    const render = vi.fn(() => "FROM scratch\n");
    const preflight = vi.fn(() => fakePreflight());
    const run = vi.fn((args: Record<string, unknown>) => {
      progressSender(args)({ stage: "building", done: 1, total: 3 });
      return fakeOutcome();
    });
    const cancel = vi.fn(() => null);
    mockCommands({ plan_squash: plan, render_squash: render, preflight_squash: preflight, run_squash: run, cancel_squash: cancel });

    await expect(ipc.planSquash("sha256:ab", "web:1.2")).resolves.toEqual(fakePlan());
    expect(plan).toHaveBeenCalledWith({ imageId: "sha256:ab", name: "web:1.2" });
    await ipc.renderSquash(fakePlan());
    expect(render).toHaveBeenLastCalledWith({ plan: fakePlan(), stage: null });
    await ipc.renderSquash(fakePlan(), "squashed");
    expect(render).toHaveBeenLastCalledWith({ plan: fakePlan(), stage: "squashed" });
    await ipc.preflightSquash(fakePlan(), "direct");
    expect(preflight).toHaveBeenCalledWith({ plan: fakePlan(), method: "direct" });

    const heard: Progress[] = [];
    const options = { method: "auto", overwriteTag: false, moveSourceTag: true, keepLayers: 0 } as const;
    await expect(ipc.runSquash(fakePlan(), options, (p) => heard.push(p))).resolves.toEqual(fakeOutcome());
    expect(run).toHaveBeenCalledWith({ plan: fakePlan(), options, onProgress: expect.objectContaining({ id: expect.any(Number) }) });
    expect(heard).toEqual([{ stage: "building", done: 1, total: 3 }]);
    await expect(ipc.cancelSquash()).resolves.toBeUndefined();
    expect(cancel).toHaveBeenCalledTimes(1);
  });

  it("knows which failures mean the daemon is gone", () => {
    expect(ipc.isConnectionLoss(unavailable())).toBe(true);
    expect(ipc.isConnectionLoss({ code: "stream", message: "", attempts: null })).toBe(true);
    expect(ipc.isConnectionLoss({ code: "daemon", message: "", attempts: null })).toBe(false);
  });
});
