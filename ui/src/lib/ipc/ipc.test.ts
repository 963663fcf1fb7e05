import { describe, expect, it, vi } from "vitest";
import * as ipc from "./index";
import { fakeInfo, mockCommands, unavailable } from "./mockBackend";

describe("toIpcError", () => {
  it("keeps an IpcError as it is", () => {
    const err = unavailable();
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

  it("turns JavaScript errors and odd values into a generic error with a message", () => {
    expect(ipc.toIpcError(new TypeError("invoke is undefined")).message).toBe("invoke is undefined");
    expect(ipc.toIpcError({ code: "weird", message: "x" }).code).toBe("daemon");
    expect(ipc.toIpcError(undefined).message).not.toBe("");
  });
});

describe("wrappers", () => {
  it("call the command by its Rust name with camel-cased args", async () => {
    const setHost = vi.fn(() => fakeInfo());
    mockCommands({ set_docker_host: setHost, disk_usage: () => 42 });
    await expect(ipc.setDockerHost("tcp://127.0.0.1:2375")).resolves.toMatchObject({ product: "Docker Engine" });
    expect(setHost).toHaveBeenCalledWith({ host: "tcp://127.0.0.1:2375" });
    await expect(ipc.diskUsage()).resolves.toBe(42);
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

  it("knows which failures mean the daemon is gone", () => {
    expect(ipc.isConnectionLoss(unavailable())).toBe(true);
    expect(ipc.isConnectionLoss({ code: "stream", message: "", attempts: null })).toBe(true);
    expect(ipc.isConnectionLoss({ code: "daemon", message: "", attempts: null })).toBe(false);
  });
});
